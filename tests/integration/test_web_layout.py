"""The web pages as an administrator sees them (issue 17): in a real
headless Chromium at five widths, nothing scrolls sideways, every table
shows all its columns, no text is smaller than 12 px, and a screenshot of
each page at each width is saved under build/artifacts/ for a person to
look at."""
import os
import json

from cdp import Browser
from kmsdtest import BIN, kmsc
from test_web import OFFICE, SERVER, WIN10, activate, get, populate, web_kmsd

WIDTHS = (1920, 1400, 1024, 768, 390)

# every problem the page has, as text; [] when it fits
LAYOUT_CHECK = r"""(() => {
  const bad = [], W = innerWidth, de = document.documentElement;
  if (de.scrollWidth > W) bad.push(`page is ${de.scrollWidth} px wide in ${W}`);
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                    (e.className && typeof e.className == 'string' ? '.' + e.className : '');
  for (const e of document.querySelectorAll('section, table, svg, .axis, form, pre, code')) {
    const r = e.getBoundingClientRect();
    if (r.right > W + 0.5 || r.left < -0.5) bad.push(`${name(e)} outside the window`);
    const box = e.parentElement.closest('section');
    if (box && e.tagName != 'SECTION') {
      const p = box.getBoundingClientRect();
      if (r.right > p.right + 0.5) bad.push(`${name(e)} overflows its card`);
    }
  }
  for (const t of document.querySelectorAll('table')) {
    for (const c of t.querySelectorAll('td')) {
      const r = c.getBoundingClientRect();
      if (r.width < 1 || r.height < 1) bad.push(`${name(t)}: a cell is hidden`);
      if (c.scrollWidth > c.clientWidth + 1) bad.push(`${name(t)}: a cell's text is cut`);
      // a stacked cell's label is one line in a 9rem column: it must fit there
      if (c.dataset.label && c.dataset.label.length > 16)
        bad.push(`${name(t)}: label "${c.dataset.label}" too long to stack`);
      if (getComputedStyle(c).display == 'block' && c.dataset.label === undefined &&
          !c.classList.contains('empty') && !t.classList.contains('kv'))
        bad.push(`${name(t)}: a stacked cell without a label`);
    }
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n; (n = walker.nextNode());) {
    if (!n.textContent.trim()) continue;
    const e = n.parentElement, px = parseFloat(getComputedStyle(e).fontSize);
    if (px < 12 && e.getClientRects().length) bad.push(`${name(e)} text ${px} px`);
  }
  return [...new Set(bad)];
})()"""


def crowd(d):
    """The usual machines plus names and products long enough to test wrapping."""
    populate(d)
    for i in range(8):
        activate(d, WIN10 if i % 2 else SERVER, f"WORKSTATION-WITH-A-LONG-NAME-{i:02d}.corp.example")
    activate(d, OFFICE, "OFFICE-FOXTROT")
    import time
    time.sleep(0.6)


def test_pages_fit_every_width_in_headless_chromium():
    artifacts = os.path.join(BIN, "artifacts")
    os.makedirs(artifacts, exist_ok=True)
    # a zone away from UTC, so the pages show both times
    with web_kmsd(env={"TZ": "Europe/Berlin"}) as d:
        crowd(d)
        _, _, body = get(d.web_port, "/api/v1/clients?limit=1")
        cmid = json.loads(body)["clients"][0]["cmid"]
        base = f"http://127.0.0.1:{d.web_port}"
        pages = {"dashboard": "/", "clients": "/clients", "client": f"/clients/{cmid}", "products": "/products",
                 }
        problems = []
        with Browser() as b:
            for width in WIDTHS:
                for page, path in pages.items():
                    b.load(base + path, width)
                    title = b.evaluate("document.title")
                    assert "kmsd" in title, (page, title)
                    for p in b.evaluate(LAYOUT_CHECK):
                        problems.append(f"{page} at {width}: {p}")
                    b.screenshot(os.path.join(artifacts, f"{page}-{width}.png"))
        assert not problems, "\n".join(problems)


def test_status_and_dashboard_show_the_epid_clients_really_receive():
    with web_kmsd() as d:
        got = {}
        for product in (WIN10, SERVER, OFFICE):
            rc, out = kmsc("activate", "--json", "-p", product, f"127.0.0.1:{d.port}")
            assert rc in (0, 3, 5), out  # 5: valid, below the threshold
            got[product] = json.loads(out.splitlines()[-1])["response"]["epid"]
        _, _, body = get(d.web_port, "/api/v1/status")
        status = json.loads(body)
        by_group = {g["product_group"]: g for g in status["epids_by_group"]}
        assert by_group["Windows 10/11 2015 (Volume)"]["epid"] == got[WIN10], by_group
        assert by_group["Windows Server 2019"]["epid"] == got[SERVER]
        assert by_group["Office 2019"]["epid"] == got[OFFICE]
        # the pool's ePID is one its clients get, not the newest key's
        assert status["epids"]["windows"] in {g["epid"] for g in by_group.values()
                                              if g["pool"] == "windows"}
        _, _, page = get(d.web_port, "/")
        assert got[WIN10] in page and got[OFFICE] in page


def test_lists_show_local_time_addresses_without_port_and_answers_in_words():
    with web_kmsd(env={"TZ": "Europe/Berlin"}) as d:
        populate(d)
        for path in ("/clients", "/"):
            _, _, page = get(d.web_port, path)
            assert "(<span id=\"zone\">CET, UTC+01:00</span>) and UTC" in page or \
                   "(<span id=\"zone\">CEST, UTC+02:00</span>) and UTC" in page, page[:800]
            assert " CET</time>" in page or " CEST</time>" in page
            # the second line of every time cell is UTC
            assert "Z</span>" in page
            # every answer says in words what its colour says
            assert "&#x25D4; below threshold</span>" in page
        _, _, page = get(d.web_port, "/clients")
        assert "127.0.0.1:" not in page, "a list shows the client's source port"
        assert "<td data-label=\"Address\">127.0.0.1</td>" in page
