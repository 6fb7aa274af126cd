/* The settings whose values the table's types do not cover: their parsers
 * and dumps, named by their rows in config_table.c. */
#ifndef KMSD_SERVER_CONFIG_SPECIAL_H
#define KMSD_SERVER_CONFIG_SPECIAL_H

#include "server/config_setting.h"

setting_parse special_epid, special_hwid, special_serve, special_cidr;
setting_dump special_epid_dump, special_hwid_dump, special_serve_dump, special_cidr_dump,
	special_store_dump, special_web_token_dump;
setting_text special_log, special_store, special_secret_path, special_web_token;
setting_check special_host_build;

#endif
