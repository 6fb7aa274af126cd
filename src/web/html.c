/* The frame every HTML page shares, and the stylesheet. No script: the
 * pages work in any browser and under a strict Content-Security-Policy. */
#include "web/web_private.h"

static const char stylesheet[] =
	":root{--fg:#1d2327;--muted:#646970;--line:#dcdcde;--bg:#f6f7f7;--card:#fff;"
	"--ok:#1a7f37;--bad:#b32d2e;--accent:#2271b1}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
	"color:var(--fg);background:var(--bg)}\n"
	"header{background:#1d2327;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;"
	"gap:.4rem 1.2rem;align-items:baseline}\n"
	"header h1{font-size:1.1rem;margin:0}header a{color:#fff;text-decoration:none}"
	"header a.on{text-decoration:underline}\n"
	"header .meta{color:#c3c4c7;font-size:.85rem;margin-left:auto}\n"
	"main{padding:1rem;max-width:1200px;margin:auto;display:grid;gap:1rem;"
	"grid-template-columns:repeat(auto-fit,minmax(320px,1fr))}\n"
	"section{background:var(--card);border:1px solid var(--line);border-radius:6px;"
	"padding:.8rem 1rem;min-width:0}\n"
	"section.wide{grid-column:1/-1}\n"
	"h2{font-size:1rem;margin:0 0 .6rem}\n"
	".scroll{overflow-x:auto}\n"
	"table{border-collapse:collapse;width:100%;font-size:.9rem}\n"
	"th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);"
	"white-space:nowrap}\n"
	"table.kv td{white-space:normal}\n"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	".big{font-size:1.8rem;font-weight:600}\n"
	".ok{color:var(--ok)}.bad{color:var(--bad)}.muted{color:var(--muted)}\n"
	".pool{margin-bottom:.8rem}\n"
	"svg{width:100%;height:auto;display:block}\n"
	"svg .b{fill:var(--accent)}svg .t{fill:var(--muted);font-size:10px}"
	"svg .l{stroke:var(--line)}svg .th{stroke:var(--bad);stroke-dasharray:3 2}\n"
	"form{display:flex;flex-wrap:wrap;gap:.5rem;margin-bottom:.8rem}\n"
	"input,select,button{font:inherit;padding:.3rem .5rem}\n"
	"nav.pages{display:flex;gap:1rem;margin-top:.6rem}\n"
	"code{font-size:.85rem;word-break:break-all}\n";

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
		   "<a href=\"/metrics\">Metrics</a><a href=\"/api/v1/status\">API</a>",
		   strcmp(active, "dashboard") == 0 ? " class=\"on\"" : "",
		   strcmp(active, "clients") == 0 ? " class=\"on\"" : "");
	buf_puts(b, "<span class=\"meta\">version ");
	buf_html(b, id.version);
	buf_printf(b, " · count mode %s</span></header>\n<main>\n", id.count_real ? "real" : "always");
}

void web_page_end(buf *b)
{
	buf_puts(b, "</main></body></html>\n");
}
