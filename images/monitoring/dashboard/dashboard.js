// Mail platform monitoring dashboard: plain browser JavaScript, no dependencies, charts drawn as
// inline SVG. Every 15 s it runs all queries against the Prometheus HTTP API on the same origin,
// renders each card independently (a card whose query returned nothing says so), then marks
// <main id="dashboard"> with data-loaded="true" after the first full refresh. An unreachable API
// (network error, 401, 5xx) shows the error banner and keeps the last data on screen.
/* global document, window, fetch, URLSearchParams, Node */
(function () {
  "use strict";

  const REFRESH_MS = 15000;
  const RANGE_S = 6 * 3600;
  const STEP_S = 60;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const COLOURS = 6; // .c0 … .c5 in dashboard.css
  // The page lives at <prefix>/user/…; the API at <prefix>/api/v1/… ("" when served at the root).
  const BASE = window.location.pathname.replace(/\/user\/.*$/, "");

  // ---------------------------------------------------------------------------------------------
  // Prometheus API

  class ApiUnreachable extends Error {}

  async function api(path, params) {
    const url = BASE + path + (params ? "?" + new URLSearchParams(params).toString() : "");
    let res;
    try {
      res = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" });
    } catch (e) {
      throw new ApiUnreachable("network error: " + e.message);
    }
    if (res.status === 401 || res.status === 403 || res.status >= 500) {
      throw new ApiUnreachable("HTTP " + res.status + " " + res.statusText);
    }
    let body;
    try {
      body = await res.json();
    } catch {
      throw new ApiUnreachable("HTTP " + res.status + ": response is not JSON");
    }
    if (body.status !== "success") throw new Error(body.error || "query failed (HTTP " + res.status + ")");
    return body.data;
  }

  /** Instant query: [{ metric, value: number }]. */
  async function query(q) {
    const data = await api("/api/v1/query", { query: q });
    return data.result.map((r) => ({ metric: r.metric, value: parseFloat(r.value[1]) }));
  }

  /** Range query over the last 6 h: [{ metric, points: [[t, v], …] }]. */
  async function range(q, now) {
    const end = Math.floor(now / STEP_S) * STEP_S;
    const data = await api("/api/v1/query_range", { query: q, start: end - RANGE_S, end, step: STEP_S });
    return data.result.map((r) => ({ metric: r.metric, points: r.values.map(([t, v]) => [t, parseFloat(v)]) }));
  }

  // ---------------------------------------------------------------------------------------------
  // DOM helpers (textContent only: label values never become markup)

  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
    for (const c of children.flat()) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
    return e;
  }

  function s(tag, attrs, text) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  const $ = (id) => document.getElementById(id);
  const fill = (id, ...children) => $(id).replaceChildren(...children.flat());
  const placeholder = (text, cls) => h("p", { class: "placeholder " + (cls || "") }, text);

  function fmt(v, digits) {
    if (v === undefined || v === null || !isFinite(v)) return "–";
    const d = digits === undefined ? (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2) : digits;
    return v.toLocaleString("en-GB", { minimumFractionDigits: 0, maximumFractionDigits: d });
  }

  function ago(seconds) {
    if (!isFinite(seconds)) return "never";
    if (seconds < 0) seconds = 0;
    if (seconds < 60) return Math.round(seconds) + " s ago";
    if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
    if (seconds < 2 * 86400) return Math.round(seconds / 3600) + " h ago";
    return Math.round(seconds / 86400) + " d ago";
  }

  const pad = (n) => String(n).padStart(2, "0");
  const hhmm = (t) => {
    const d = new Date(t * 1000);
    return pad(d.getHours()) + ":" + pad(d.getMinutes());
  };

  // ---------------------------------------------------------------------------------------------
  // SVG line chart

  function niceStep(raw) {
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  /**
   * series: [{ name, points: [[t, v], …] }]; opts: { unit, max, format }. Draws into the container
   * at its current pixel width; gaps in the data (NaN or missing steps) break the line.
   */
  function lineChart(container, series, now, opts) {
    const o = Object.assign({ unit: "", format: (v) => fmt(v) }, opts);
    const withData = series.filter((x) => x.points.some((p) => isFinite(p[1])));
    if (!withData.length) {
      container.replaceChildren(h("div", { class: "empty" }, "no data yet"));
      return;
    }
    const W = Math.max(container.clientWidth, 240);
    const H = 150;
    const pad = { l: 44, r: 10, t: 8, b: 20 };
    const end = Math.floor(now / STEP_S) * STEP_S;
    const start = end - RANGE_S;
    let max = o.max;
    if (max === undefined) {
      const peak = Math.max(...withData.flatMap((x) => x.points.map((p) => p[1]).filter(isFinite)));
      max = peak > 0 ? Math.ceil(peak / niceStep(peak / 4)) * niceStep(peak / 4) : 1;
    }
    const step = niceStep(max / 4);
    const x = (t) => pad.l + ((t - start) / RANGE_S) * (W - pad.l - pad.r);
    const y = (v) => pad.t + (1 - Math.min(v, max) / max) * (H - pad.t - pad.b);

    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "plot", role: "img" });
    for (let v = 0; v <= max + step / 1000; v += step) {
      svg.append(s("line", { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v), class: v === 0 ? "axis" : "grid" }));
      svg.append(s("text", { x: pad.l - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, o.format(v)));
    }
    for (let t = Math.ceil(start / 3600) * 3600; t <= end; t += 3600) {
      svg.append(s("line", { x1: x(t), x2: x(t), y1: pad.t, y2: H - pad.b, class: "grid" }));
      svg.append(s("text", { x: x(t), y: H - 5, class: "tick", "text-anchor": "middle" }, hhmm(t)));
    }
    const legend = h("div", { class: "legend" });
    withData.forEach((ser, i) => {
      let d = "";
      let prev = null;
      for (const [t, v] of ser.points) {
        if (!isFinite(v)) {
          prev = null;
          continue;
        }
        d += (prev === null || t - prev > 2 * STEP_S ? "M" : "L") + x(t).toFixed(1) + "," + y(v).toFixed(1);
        prev = t;
      }
      const cls = "c" + (i % COLOURS);
      svg.append(s("path", { d, class: "series " + cls }));
      const last = ser.points.filter((p) => isFinite(p[1])).pop();
      svg.lastChild.append(s("title", {}, ser.name));
      legend.append(
        h(
          "span",
          { class: "item " + cls },
          h("span", { class: "swatch" }),
          ser.name + " ",
          h("b", {}, last && end - last[0] <= 2 * STEP_S ? o.format(last[1]) + o.unit : "–"),
        ),
      );
    });
    container.replaceChildren(svg, legend);
  }

  /** Horizontal bars: items [{ label, value, text, cls }], value in 0..max. */
  function bars(id, items, max, emptyText) {
    if (!items.length) return fill(id, placeholder(emptyText || "no data yet"));
    fill(
      id,
      items.map((it) => {
        const pct = Math.max(0, Math.min(100, (100 * it.value) / (max || 1)));
        const svg = s("svg", { class: "bar", viewBox: "0 0 100 10", preserveAspectRatio: "none", "aria-hidden": "true" });
        svg.append(s("rect", { x: 0, y: 0, width: 100, height: 10, class: "track" }));
        svg.append(s("rect", { x: 0, y: 0, width: pct.toFixed(2), height: 10, class: "level" }));
        return h(
          "div",
          { class: "bar-row " + (it.cls || ""), "data-bar": it.label },
          h("span", { class: "label" }, it.label),
          svg,
          h("span", { class: "value" }, it.text),
        );
      }),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Cards

  const SEVERITY_ORDER = { critical: 0, error: 1, warning: 2, info: 3 };

  async function renderAlerts() {
    const data = await api("/api/v1/alerts");
    const firing = data.alerts
      .filter((a) => a.state === "firing")
      .sort(
        (a, b) =>
          (SEVERITY_ORDER[a.labels.severity] ?? 9) - (SEVERITY_ORDER[b.labels.severity] ?? 9) ||
          a.labels.alertname.localeCompare(b.labels.alertname),
      );
    $("alerts-count").textContent = firing.length ? String(firing.length) : "";
    $("card-alerts").dataset.state = firing.length ? "firing" : "ok";
    if (!firing.length) return fill("alerts", h("li", { class: "none" }, h("span", { class: "dot" }), "No alerts firing"));
    fill(
      "alerts",
      firing.map((a) => {
        const sev = a.labels.severity || "none";
        const since = a.activeAt ? ago((Date.now() - Date.parse(a.activeAt)) / 1000).replace(" ago", "") : "";
        const where = a.labels.service || a.labels.job || a.labels.instance;
        return h(
          "li",
          { class: "alert sev-" + sev, "data-alert": a.labels.alertname, "data-severity": sev },
          h(
            "div",
            { class: "alert-head" },
            h("span", { class: "sev" }, sev),
            h("span", { class: "name" }, a.labels.alertname),
            where ? h("span", { class: "where" }, where) : null,
            h("span", { class: "since" }, since),
          ),
          h("div", { class: "summary" }, a.annotations.summary || a.annotations.description || ""),
        );
      }),
    );
  }

  function stateTiles(id, results, key, emptyText, attr) {
    const groups = new Map();
    for (const r of results) {
      const name = r.metric[key] || "(unnamed)";
      if (!groups.has(name)) groups.set(name, []);
      groups.get(name).push(r);
    }
    if (!groups.size) return fill(id, placeholder(emptyText));
    fill(
      id,
      [...groups.keys()].sort().map((name) => {
        const rs = groups.get(name);
        const upCount = rs.filter((r) => r.value === 1).length;
        const state = upCount === rs.length ? "up" : "down";
        const detail =
          key === "service"
            ? rs.map((r) => h("span", { class: "chip " + (r.value === 1 ? "up" : "down") }, r.metric.kind || "probe"))
            : h("span", { class: "chip" }, upCount + "/" + rs.length);
        return h(
          "div",
          { class: "tile " + state, [attr]: name, "data-state": state },
          h("span", { class: "dot" }),
          h("span", { class: "name" }, name),
          h("span", { class: "detail" }, detail),
          h("span", { class: "state" }, state.toUpperCase()),
        );
      }),
    );
  }

  async function renderServices() {
    const [probes, up] = await Promise.all([query("probe_success"), query("up")]);
    stateTiles("services", probes, "service", "no probe results yet", "data-service");
    stateTiles("targets", up, "job", "no scrape targets", "data-target");
    return { down: probes.filter((r) => r.value !== 1).length + up.filter((r) => r.value !== 1).length };
  }

  async function renderMail(now) {
    const rate = (m) => `sum(rate(${m}[5m]))*60`;
    // Into mailboxes: Dovecot's own count of LMTP deliveries. Out: Postfix's deliveries to other
    // MTAs, from its log (empty until the exporter reads a Postfix log file).
    const [connects, received, sent, stored] = await Promise.all([
      range(rate("postfix_smtpd_connects_total"), now),
      range(rate("postfix_qmgr_messages_inserted_receipients_total"), now),
      range(rate("postfix_smtp_delivery_delay_seconds_count"), now),
      range(rate("dovecot_mail_delivery_total"), now),
    ]);
    const named = (name, list) => list.map((x) => ({ name, points: x.points }));
    lineChart(
      $("chart-mail"),
      [...named("connections", connects), ...named("received", received), ...named("into mailboxes", stored), ...named("sent out", sent)],
      now,
      {
        unit: "/min",
      },
    );
  }

  async function renderQueue(now) {
    const queues = await range("sum by (queue) (postfix_showq_message_age_seconds_count)", now);
    queues.sort((a, b) => (a.metric.queue || "").localeCompare(b.metric.queue || ""));
    lineChart(
      $("chart-queue"),
      queues.map((x) => ({ name: x.metric.queue || "queue", points: x.points })),
      now,
      { format: (v) => fmt(v, 0) },
    );
  }

  async function renderAuth(now) {
    const ok = "sum(rate(dovecot_auth_success_total[5m]))";
    const bad = "sum(rate(dovecot_auth_failure_total[5m]))";
    const ratio = `100 * ${ok} / (${ok} + ${bad})`;
    const [series, current, failures] = await Promise.all([range(ratio, now), query(ratio), query(bad + " * 60")]);
    const pct = current.length ? current[0].value : NaN;
    $("auth-rate").textContent = isFinite(pct) ? fmt(pct, 1) + " %" : "–";
    $("auth-rate").dataset.level = !isFinite(pct) ? "" : pct < 50 ? "bad" : pct < 90 ? "warn" : "ok";
    const fpm = failures.length ? failures[0].value : NaN;
    $("auth-failures").textContent = fmt(fpm, 1);
    $("auth-failures").dataset.level = !isFinite(fpm) ? "" : fpm >= 10 ? "bad" : fpm >= 1 ? "warn" : "ok";
    lineChart(
      $("chart-auth"),
      series.map((x) => ({ name: "success rate", points: x.points })),
      now,
      { max: 100, unit: " %", format: (v) => fmt(v, 0) },
    );
  }

  async function renderScan(now) {
    const avg = "sum(rate(amavis_scan_seconds_sum[5m])) / sum(rate(amavis_scan_seconds_count[5m]))";
    const [series, current, results] = await Promise.all([
      range(avg, now),
      query(avg),
      query("sum by (result) (increase(amavis_messages_total[1h]))"),
    ]);
    $("scan-now").textContent = current.length && isFinite(current[0].value) ? fmt(current[0].value, 2) + " s" : "–";
    lineChart(
      $("chart-scan"),
      series.map((x) => ({ name: "avg scan time", points: x.points })),
      now,
      { unit: " s" },
    );
    const items = results
      .filter((r) => isFinite(r.value))
      .sort((a, b) => b.value - a.value)
      .map((r) => ({
        label: r.metric.result || "?",
        value: r.value,
        text: fmt(r.value, 0),
        cls: "result-" + (r.metric.result || "unknown").toLowerCase(),
      }));
    bars("scan-results", items, Math.max(1, ...items.map((i) => i.value)), "no messages scanned yet");
  }

  function kv(label, value, level, attrs) {
    return h(
      "li",
      Object.assign({ "data-level": level }, attrs),
      h("span", { class: "label" }, label),
      h("span", { class: "value" }, value),
    );
  }

  async function renderFreshness() {
    const [clam, sa, bayes, certs] = await Promise.all([
      query('(time() - mailplatform_clamav_database_build_timestamp_seconds{database="daily"}) / 3600'),
      query("(time() - mailplatform_sarules_release_timestamp_seconds) / 86400"),
      query("mailplatform_bayes_learned_messages"),
      query("min by (service) (probe_ssl_earliest_cert_expiry - time()) / 86400"),
    ]);
    const clamH = clam.length ? Math.max(...clam.map((r) => r.value)) : NaN;
    const saD = sa.length ? Math.max(...sa.map((r) => r.value)) : NaN;
    fill("freshness", [
      kv(
        "ClamAV daily signatures",
        isFinite(clamH) ? fmt(clamH, 1) + " h old" : "no data yet",
        !isFinite(clamH) ? "none" : clamH > 72 ? "bad" : clamH > 24 ? "warn" : "ok",
        { "data-item": "clamav" },
      ),
      kv(
        "SpamAssassin rules",
        isFinite(saD) ? fmt(saD, 1) + " d old" : "no data yet",
        !isFinite(saD) ? "none" : saD > 30 ? "bad" : saD > 10 ? "warn" : "ok",
        { "data-item": "sarules" },
      ),
      // SpamAssassin's Bayes votes only once it has learned 200 of each class.
      ...(() => {
        const n = (cls) => bayes.find((r) => r.metric.class === cls)?.value;
        const [spam, ham] = [n("spam"), n("ham")];
        if (spam === undefined || ham === undefined) return [kv("Bayes learned", "no data yet", "none", { "data-item": "bayes" })];
        return [
          kv("Bayes learned", `${fmt(spam, 0)} spam / ${fmt(ham, 0)} ham`, spam >= 200 && ham >= 200 ? "ok" : "warn", {
            "data-item": "bayes",
          }),
        ];
      })(),
    ]);
    if (!certs.length) return fill("certs", h("li", { "data-level": "none" }, h("span", { class: "label" }, "no TLS probes yet")));
    fill(
      "certs",
      certs
        .sort((a, b) => a.value - b.value)
        .map((r) =>
          kv(r.metric.service || "?", fmt(r.value, 0) + " days", r.value < 7 ? "bad" : r.value < 21 ? "warn" : "ok", {
            "data-cert": r.metric.service,
          }),
        ),
    );
  }

  async function renderJobs(nowS) {
    const [success, run, exit] = await Promise.all([
      query("mailplatform_job_last_success_timestamp_seconds"),
      query("mailplatform_job_last_run_timestamp_seconds"),
      query("mailplatform_job_exit_code"),
    ]);
    const jobs = new Map();
    const put = (list, key) => {
      for (const r of list) {
        const name = r.metric.job || "(unnamed)";
        if (!jobs.has(name)) jobs.set(name, {});
        jobs.get(name)[key] = r.value;
      }
    };
    put(success, "success");
    put(run, "run");
    put(exit, "exit");
    if (!jobs.size) return fill("jobs", h("tr", {}, h("td", { colspan: 5, class: "placeholder" }, "no job metrics yet")));
    fill(
      "jobs",
      [...jobs.keys()].sort().map((name) => {
        const j = jobs.get(name);
        const status = j.exit === undefined ? "unknown" : j.exit === 0 ? "ok" : "failed";
        const when = (t) => (t === undefined ? "never" : ago(nowS - t));
        return h(
          "tr",
          { "data-job": name, "data-status": status },
          h("td", { class: "name" }, name),
          h("td", { title: j.run ? new Date(j.run * 1000).toLocaleString() : "" }, when(j.run)),
          h("td", { title: j.success ? new Date(j.success * 1000).toLocaleString() : "" }, when(j.success)),
          h("td", { class: "num" }, j.exit === undefined ? "–" : fmt(j.exit, 0)),
          h("td", {}, h("span", { class: "badge " + status }, status === "ok" ? "OK" : status === "failed" ? "FAILED" : "?")),
        );
      }),
    );
  }

  async function renderDisk() {
    const sel = '{mountpoint=~"/srv/ssd|/srv/bulk"}';
    const free = await query(`100 * node_filesystem_avail_bytes${sel} / node_filesystem_size_bytes${sel}`);
    const seen = new Set();
    const items = free
      .filter((r) => !seen.has(r.metric.mountpoint) && seen.add(r.metric.mountpoint))
      .sort((a, b) => a.metric.mountpoint.localeCompare(b.metric.mountpoint))
      .map((r) => ({
        label: r.metric.mountpoint,
        value: r.value,
        text: fmt(r.value, 1) + " % free",
        cls: r.value < 10 ? "bad" : r.value < 20 ? "warn" : "ok",
      }));
    bars("disk", items, 100, "no filesystem metrics for /srv/ssd or /srv/bulk");
  }

  // ---------------------------------------------------------------------------------------------
  // Refresh loop

  let timer = null;
  let lastNow = null;
  const cards = {
    "card-alerts": renderAlerts,
    "card-services": renderServices,
    "card-mail": renderMail,
    "card-queue": renderQueue,
    "card-auth": renderAuth,
    "card-scan": renderScan,
    "card-freshness": renderFreshness,
    "card-jobs": renderJobs,
    "card-disk": renderDisk,
  };

  async function refresh() {
    window.clearTimeout(timer);
    const now = Date.now() / 1000;
    const ids = Object.keys(cards);
    const outcomes = await Promise.allSettled(ids.map((id) => cards[id](now)));
    const unreachable = [];
    outcomes.forEach((o, i) => {
      const card = $(ids[i]);
      const old = card.querySelector(".card-error");
      if (old) old.remove();
      if (o.status === "fulfilled") return card.removeAttribute("data-error");
      card.dataset.error = "true";
      if (o.reason instanceof ApiUnreachable) unreachable.push(o.reason.message);
      else card.append(h("p", { class: "card-error" }, "query failed: " + (o.reason && o.reason.message)));
    });
    const banner = $("error-banner");
    banner.hidden = !unreachable.length;
    banner.textContent = unreachable.length
      ? "Prometheus API unreachable (" + [...new Set(unreachable)].join("; ") + "). Retrying every 15 s; cards keep the last data received."
      : "";
    if (unreachable.length) document.querySelectorAll(".placeholder.loading").forEach((e) => (e.textContent = "no data: API unreachable"));

    const services = outcomes[1].status === "fulfilled" ? outcomes[1].value : null;
    const alerts = document.querySelectorAll("#alerts [data-alert]").length;
    const overall = $("overall");
    const state = unreachable.length ? "error" : alerts || (services && services.down) ? "degraded" : "ok";
    overall.dataset.state = state;
    overall.textContent = { error: "API unreachable", degraded: "attention needed", ok: "all systems normal" }[state];
    if (!unreachable.length) {
      $("last-updated").textContent = "last updated " + new Date().toLocaleTimeString("en-GB");
      $("last-updated").dataset.time = String(Math.round(now));
    }
    lastNow = now;
    $("dashboard").dataset.loaded = "true";
    timer = window.setTimeout(refresh, REFRESH_MS);
  }

  // Charts are drawn at the container's pixel width: refresh (and so redraw) after a resize.
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(() => lastNow && refresh(), 300);
  });

  refresh();
})();
