/* The frame every HTML page shares, and the stylesheet. No script: the
 * pages work in any browser and under a strict Content-Security-Policy. */
#include <time.h>

#include "web/web_private.h"

/* the rules that turn table T into label/value pairs */
#define STACK(T) T "," T " tbody," T " tr," T " td{display:block;width:100%}" \
	T " tr.head{display:none}" \
	T " tr{border-bottom:2px solid var(--line);padding:.3rem 0}" \
	T " td{border:0;padding:.15rem .2rem .15rem 9.5rem;position:relative;text-align:left;" \
	"min-height:1.5em}" \
	T " td.n," T " td.t{text-align:left;white-space:normal}" \
	/* one line: a label never runs into the next row */ \
	T " td::before{content:attr(data-label);position:absolute;left:.2rem;width:9rem;" \
	"white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-size:.8rem;" \
	"line-height:1.8;font-weight:600;color:var(--muted)}" \
	T " td.empty{padding-left:.2rem}" T " td.empty::before{content:none}"

static const char stylesheet[] =
	":root{--fg:#1d2327;--muted:#5b6066;--line:#dcdcde;--bg:#f6f7f7;--card:#fff;"
	"--ok:#1a7f37;--bad:#b32d2e;--warn:#8a5a00;--accent:#2271b1}\n"
	"*{box-sizing:border-box}\n"
	"html{-webkit-text-size-adjust:100%}\n"
	"body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
	"color:var(--fg);background:var(--bg);overflow-wrap:break-word}\n"
	"header{background:#1d2327;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;"
	"gap:.4rem 1.2rem;align-items:baseline}\n"
	"header h1{font-size:1.1rem;margin:0}header a{color:#fff;text-decoration:none}"
	"header a.on{text-decoration:underline}\n"
	"header .meta{color:#dcdcde;font-size:.85rem;margin-left:auto}\n"
	/* as many columns as fit, never narrower than the screen */
	"main{padding:1rem;max-width:2400px;margin:auto;display:grid;gap:1rem;"
	"grid-template-columns:repeat(auto-fill,minmax(min(100%,22rem),1fr));grid-auto-flow:row dense}\n"
	"section{background:var(--card);border:1px solid var(--line);border-radius:6px;"
	"padding:.8rem 1rem;min-width:0}\n"
	"section.wide{grid-column:1/-1}\n"
	"section.two{grid-column:span 2}\n"
	"@media (max-width:56rem){section.two{grid-column:1/-1}}\n"
	"h2{font-size:1rem;margin:0 0 .6rem}\n"
	"table{border-collapse:collapse;width:100%;font-size:.9rem}\n"
	"th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);"
	"vertical-align:top}\n"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
	"td.t{white-space:nowrap}\n"
	".big{font-size:1.8rem;font-weight:600}\n"
	".ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}.muted{color:var(--muted)}\n"
	".small{font-size:.8rem}\n"
	".pool{margin-bottom:.8rem}\n"
	"svg{width:100%;height:auto;display:block}\n"
	"svg.bars{height:7rem}\n"
	"svg .b{fill:var(--accent)}svg .l{stroke:var(--line)}svg .bg{fill:#dcdcde}"
	"svg .th{stroke:var(--bad);stroke-dasharray:3 2}\n"
	/* chart labels are HTML under the bars: readable at any width */
	".axis{display:grid;font-size:.8rem;color:var(--muted);border-top:1px solid var(--line)}\n"
	".axis6{grid-template-columns:repeat(6,1fr)}.axis8{grid-template-columns:repeat(8,1fr)}\n"
	".chart-head{display:flex;justify-content:space-between;flex-wrap:wrap;gap:.5rem}\n"
	".charts{display:grid;gap:1rem 2rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,24rem),1fr))}\n"
	"table.kv th{white-space:nowrap;width:1%}\n"
	"details summary{cursor:pointer;font-size:.85rem;color:var(--muted)}\n"
	"form{display:flex;flex-wrap:wrap;gap:.5rem;margin-bottom:.8rem}\n"
	"input,select,button{font:inherit;padding:.3rem .5rem;max-width:100%}\n"
	"nav.pages{display:flex;flex-wrap:wrap;gap:.5rem 1rem;margin-top:.6rem}\n"
	/* long tokens without spaces may break anywhere; headers and
	 * addresses only where a line may end */
	"code,td.long,h2.long{overflow-wrap:anywhere}\n"
	"code{font-size:.85rem}th{overflow-wrap:normal}\n"
	"input[type=search]{width:20rem}\n"
	"code.epid{overflow-wrap:normal}code.key{overflow-wrap:normal}\n"
	"@media (min-width:80rem){code.key{white-space:nowrap}}\n"
	"pre{font-size:.85rem;white-space:pre-wrap;overflow-wrap:anywhere;margin:.2rem 0;"
	"background:var(--bg);padding:.3rem .5rem}\n"
	"mark.serve{background:#e6f4ea;color:var(--ok);padding:0 .3rem;border-radius:3px;"
	"white-space:nowrap}\n"
	/* narrow screens: each row of a stacked table becomes label/value pairs;
	 * a wide one (class early) stacks sooner */
	"@media (max-width:40rem){" STACK("table.stack") "}\n"
	"@media (max-width:80rem){" STACK("table.stack.early") "}\n";

void web_stylesheet(web_reply *out)
{
	out->content_type = "text/css; charset=utf-8";
	buf_add(&out->body, stylesheet, sizeof stylesheet - 1);
}

void web_page_begin(buf *b, web *w, const char *title, const char *active, int refresh)
{
	web_identity id;
	web_identity_copy(w, &id);
	buf_puts(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		 "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">");
	if (refresh)
		buf_printf(b, "<meta http-equiv=\"refresh\" content=\"%d\">", refresh);
	buf_puts(b, "<title>");
	buf_html(b, title);
	buf_puts(b, " · kmsd</title><link rel=\"stylesheet\" href=\"/kmsd.css\"></head>\n<body>"
		 "<header><h1>kmsd</h1>");
	buf_printf(b, "<a href=\"/\"%s>Dashboard</a><a href=\"/clients\"%s>Clients</a>"
		   "<a href=\"/products\"%s>Products</a>"
		   "<a href=\"/metrics\">Metrics</a><a href=\"/api/v1/status\">API</a>",
		   strcmp(active, "dashboard") == 0 ? " class=\"on\"" : "",
		   strcmp(active, "clients") == 0 ? " class=\"on\"" : "",
		   strcmp(active, "products") == 0 ? " class=\"on\"" : "");
	buf_puts(b, "<span class=\"meta\">version ");
	buf_html(b, id.version);
	char zone[64];
	web_zone((int64_t)time(NULL), zone);
	buf_printf(b, " · count mode %s · times in the host's zone (<span id=\"zone\">", id.count_real ? "real" : "always");
	buf_html(b, zone);
	buf_puts(b, "</span>) and UTC");
	if (refresh)
		buf_printf(b, " · refreshes every %d s", refresh);
	buf_puts(b, "</span></header>\n<main>\n");
}

void web_empty_row(buf *b, size_t rows, int columns, const char *text)
{
	if (!rows)
		buf_printf(b, "<tr><td colspan=\"%d\" class=\"muted empty\">%s</td></tr>", columns, text);
}

void web_page_end(buf *b)
{
	buf_puts(b, "</main></body></html>\n");
}
