import Hummingbird
import NIOCore

/// The console's style sheet, script and icon, compiled into the binary (no third-party JavaScript, nothing fetched
/// from elsewhere: the Content-Security-Policy allows only this origin).
enum ConsoleAssets {
    static let contentSecurityPolicy =
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

    static func response(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=3600"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static let favicon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f6feb"/>\
        <path d="M6 10c5 0 5 4 10 4s5-4 10-4M6 16c5 0 5 4 10 4s5-4 10-4M6 22c5 0 5 4 10 4s5-4 10-4" stroke="#fff" \
        stroke-width="2.2" fill="none"/></svg>
        """

    /// Light by default, dark when the system prefers it or the user chose it (`data-theme` on `<html>`).
    static let css = """
        :root { --bg: #ffffff; --fg: #1b1f24; --muted: #59636e; --line: #d1d9e0; --panel: #f6f8fa; --accent: #1f6feb;
          --accent-2: #cf222e; --ok: #1a7f37; --warn: #9a6700; --code: #f6f8fa; color-scheme: light; }
        :root[data-theme="dark"] { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --panel: #151b23;
          --accent: #4493f8; --accent-2: #f85149; --ok: #3fb950; --warn: #d29922; --code: #151b23; color-scheme: dark; }
        @media (prefers-color-scheme: dark) { :root[data-theme="auto"] { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1;
          --line: #3d444d; --panel: #151b23; --accent: #4493f8; --accent-2: #f85149; --ok: #3fb950; --warn: #d29922;
          --code: #151b23; color-scheme: dark; } }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
        header { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.2rem; border-bottom: 1px solid var(--line);
          background: var(--panel); flex-wrap: wrap; }
        header .brand { font-weight: 700; font-size: 1.1rem; color: var(--fg); text-decoration: none; }
        nav { display: flex; gap: .2rem; flex-wrap: wrap; }
        nav a { padding: .3rem .7rem; border-radius: 6px; color: var(--fg); text-decoration: none; }
        nav a.active, nav a:hover { background: var(--line); }
        header form { margin-left: auto; }
        main { padding: 1rem 1.2rem 3rem; max-width: 1400px; }
        h1 { font-size: 1.35rem; margin: .2rem 0 1rem; }
        h2 { font-size: 1.1rem; margin: 1.6rem 0 .6rem; }
        a { color: var(--accent); }
        table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; }
        th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { color: var(--muted); font-weight: 600; white-space: nowrap; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        pre, code, td.key, td.value, td.headers { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
        td.value, td.key { white-space: pre-wrap; word-break: break-all; max-width: 48rem; }
        pre { background: var(--code); border: 1px solid var(--line); padding: .7rem; border-radius: 6px; overflow: auto; }
        .notice { background: color-mix(in srgb, var(--ok) 15%, transparent); border: 1px solid var(--ok); padding: .5rem .8rem; border-radius: 6px; }
        .error { background: color-mix(in srgb, var(--accent-2) 15%, transparent); border: 1px solid var(--accent-2); padding: .5rem .8rem; border-radius: 6px; }
        .muted { color: var(--muted); }
        .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: .8rem; margin-bottom: 1rem; }
        .card { border: 1px solid var(--line); border-radius: 8px; padding: .7rem .9rem; background: var(--panel); }
        .card .figure { font-size: 1.5rem; font-weight: 650; }
        form.inline { display: inline-flex; gap: .4rem; align-items: center; flex-wrap: wrap; margin: .2rem 0; }
        form.stack { display: grid; gap: .5rem; max-width: 44rem; margin: .4rem 0 1rem; }
        form.stack label { display: grid; gap: .2rem; }
        input, select, textarea, button { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line);
          border-radius: 6px; padding: .3rem .5rem; }
        textarea { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; min-height: 6rem; }
        button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
        button.danger { background: var(--accent-2); border-color: var(--accent-2); }
        button.plain { background: var(--bg); color: var(--fg); border-color: var(--line); }
        details { margin: .6rem 0; }
        summary { cursor: pointer; font-weight: 600; }
        .chart { width: 100%; max-width: 900px; height: auto; display: block; }
        .chart .axis { stroke: var(--line); }
        .chart .label { fill: var(--muted); font-size: 11px; }
        .chart .series-0 { stroke: var(--accent); fill: none; stroke-width: 2; }
        .chart .series-1 { stroke: var(--ok); fill: none; stroke-width: 2; }
        .chart .series-2 { stroke: var(--warn); fill: none; stroke-width: 2; }
        .chart .series-3 { stroke: var(--accent-2); fill: none; stroke-width: 2; }
        .state-Stable, .state-RUNNING { color: var(--ok); }
        .state-Empty, .state-PAUSED { color: var(--warn); }
        .state-Dead, .state-FAILED { color: var(--accent-2); }
        .diff .add { color: var(--ok); } .diff .del { color: var(--accent-2); }
        tr.fresh td { animation: fresh 2s ease-out; }
        @keyframes fresh { from { background: color-mix(in srgb, var(--accent) 25%, transparent); } to { background: transparent; } }
        """

    /// Live tail (Server-Sent Events; rows arrive rendered and escaped by the server) and chart refresh. Everything
    /// else works without it.
    static let script = """
        "use strict";
        (function () {
          function startTail(button) {
            var table = document.querySelector("#messages tbody");
            var status = document.getElementById("tail-status");
            var source = new EventSource(button.getAttribute("data-source"));
            button.textContent = "Stop live tail";
            source.addEventListener("message", function (event) {
              table.insertAdjacentHTML("afterbegin", event.data);
              var rows = table.querySelectorAll("tr.message");
              for (var i = 500; i < rows.length; i++) { rows[i].remove(); }
              if (status) { status.textContent = "live: " + new Date().toLocaleTimeString(); }
            });
            source.addEventListener("error", function () {
              if (status) { status.textContent = "live tail interrupted; retrying"; }
            });
            button.onclick = function () {
              source.close();
              button.textContent = "Live tail";
              if (status) { status.textContent = ""; }
              button.onclick = function () { startTail(button); };
            };
          }
          var tail = document.getElementById("tail-start");
          if (tail) { tail.onclick = function () { startTail(tail); }; }
          var boxes = document.querySelectorAll("[data-refresh]");
          if (boxes.length) {
            setInterval(function () {
              boxes.forEach(function (box) {
                fetch(box.getAttribute("data-refresh"), { credentials: "same-origin" })
                  .then(function (answer) { return answer.ok ? answer.text() : null; })
                  .then(function (svg) { if (svg) { box.innerHTML = svg; } })
                  .catch(function () {});
              });
            }, 10000);
          }
        })();
        """
}
