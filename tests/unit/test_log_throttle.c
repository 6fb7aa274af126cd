/* Repeated warnings: a few lines per period per kind, then one saying how
 * many were left out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "check.h"
#include "base/log_throttle.h"

static int count_lines(const char *path, const char *needle, char *last, size_t last_len)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int n = 0;
	while (f && fgets(line, sizeof line, f)) {
		if (strstr(line, needle)) {
			n++;
			snprintf(last, last_len, "%s", line);
		}
	}
	if (f)
		fclose(f);
	return n;
}

TEST(log_throttle_bounds_repeated_warnings)
{
	char dir[4096], path[4200], target[4300], err[128], last[1024] = "";
	CHECK(test_temp_dir(dir, sizeof dir));
	snprintf(path, sizeof path, "%s/log", dir);
	snprintf(target, sizeof target, "file:%s", path);
	CHECK(log_open(target, LOG_LEVEL_INFO, LOG_DAEMON, err, sizeof err));
	static log_throttle t;
	for (int i = 0; i < 1000; i++)
		log_throttled(&t, LOG_LEVEL_WARNING, "bad thing %d", i);
	CHECK_EQ(count_lines(path, "bad thing", last, sizeof last), LOG_THROTTLE_LINES);
	CHECK_EQ(atomic_load(&t.left_out), 1000 - LOG_THROTTLE_LINES);
	atomic_fetch_sub(&t.period, LOG_THROTTLE_SECONDS); /* as if the period were over */
	log_throttled(&t, LOG_LEVEL_WARNING, "bad thing again");
	CHECK_EQ(count_lines(path, "bad thing", last, sizeof last), LOG_THROTTLE_LINES + 1);
	CHECK(strstr(last, "bad thing again (990 more like it were not logged)") != NULL);
	log_open("stderr", LOG_LEVEL_INFO, LOG_DAEMON, err, sizeof err);
}
