// The analyst's page: alerts over server-sent events, the ledger table, the graph.
// Every value shown comes from article text: it goes into the page as text nodes
// (textContent), never as markup.
"use strict";

(function () {
  const CLASSES = 6;
  let cy = null;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else if (key === "href") node.setAttribute("href", value);
      else node[key] = value;
    }
    for (const child of children || []) node.appendChild(child);
    return node;
  }

  // --- tabs ---------------------------------------------------------------------------
  function show(view) {
    for (const tab of document.querySelectorAll(".tab")) {
      tab.classList.toggle("active", tab.dataset.view === view);
    }
    for (const section of document.querySelectorAll(".view")) {
      section.hidden = section.id !== "view-" + view;
    }
    if (view === "graph") drawGraph();
    if (view === "map") drawMap();
    if (view === "ledger") loadLedger();
    history.replaceState(null, "", "#" + view);
  }

  // --- alerts -------------------------------------------------------------------------
  function transferLine(t) {
    const systems = t.systems && t.systems.length ? " (" + t.systems.join(", ") + ")" : "";
    return t.supplier + " -> " + t.recipient + "  " + t.system_class + systems + "  " + t.status;
  }

  function alertItem(a) {
    const item = el("li", {
      class: "alert kind-" + (a.kind === "update" ? "update" : "new"),
      "data-subscription": a.subscription,
      "data-story": a.story_id,
      "data-entry": a.entry_id,
    });
    item.dataset.suppliers = a.transfers.map((t) => t.supplier).join(" ");
    item.dataset.recipients = a.transfers.map((t) => t.recipient).join(" ");
    item.dataset.classes = a.transfers.map((t) => t.system_class).join(" ");
    item.dataset.title = a.title.toLowerCase();
    const head = el("div", { class: "alert-head" }, [
      el("span", { class: "sub", text: a.subscription }),
      el("span", { class: "kind", text: a.kind }),
      el("time", { text: new Date(Number(a.entry_id.split("-")[0])).toLocaleString() }),
    ]);
    // The alert's own entry goes along: the server reads the story there, without a search.
    const href = "/stories/" + encodeURIComponent(a.story_id) + "?alert="
      + encodeURIComponent(a.subscription + "=" + a.entry_id);
    const title = el("a", { class: "title", href: href, text: a.title });
    const rows = a.transfers.map((t) => el("li", { class: "transfer" }, [
      el("span", { class: "line", text: transferLine(t) }),
      t.denied ? el("span", { class: "denied", text: "denied" }) : el("span"),
      t.evidence ? el("blockquote", { text: t.evidence }) : el("span"),
    ]));
    const changes = a.changes.map((c) => el("li", { class: "change", text: c }));
    item.append(head, title, el("ul", { class: "transfers" }, rows), el("ul", { class: "changes" }, changes));
    if (a.source) item.append(el("div", { class: "source", text: a.source }));
    return item;
  }

  function alertVisible(item) {
    const f = (id) => document.getElementById(id).value.trim();
    const has = (list, value) => !value || list.split(" ").includes(value);
    const sub = f("f-subscription");
    const text = f("f-text").toLowerCase();
    return (!sub || item.dataset.subscription === sub)
      && has(item.dataset.suppliers, f("f-supplier").toUpperCase())
      && has(item.dataset.recipients, f("f-recipient").toUpperCase())
      && has(item.dataset.classes, f("f-class"))
      && (!text || item.dataset.title.includes(text));
  }

  function filterAlerts() {
    const items = document.querySelectorAll("#alerts > li");
    let shown = 0;
    for (const item of items) {
      item.hidden = !alertVisible(item);
      if (!item.hidden) shown += 1;
    }
    document.getElementById("alert-count").textContent = shown + " of " + items.length;
    document.getElementById("no-alerts").hidden = items.length > 0;
  }

  function addAlert(a, atTop) {
    const list = document.getElementById("alerts");
    const item = alertItem(a);
    if (atTop) list.prepend(item); else list.append(item);
    item.hidden = !alertVisible(item);
  }

  // --- live ---------------------------------------------------------------------------
  function live(cursor) {
    const indicator = document.getElementById("live");
    const source = new EventSource("/events?cursor=" + encodeURIComponent(cursor));
    source.onopen = () => { indicator.textContent = "live"; indicator.className = "live on"; };
    source.onerror = () => { indicator.textContent = "reconnecting…"; indicator.className = "live off"; };
    source.addEventListener("alert", (event) => {
      const a = JSON.parse(event.data);
      addAlert(a, true);
      filterAlerts();
    });
    source.addEventListener("ledger", () => {
      scheduleLedgerReload();
    });
  }

  let ledgerTimer = null;
  function scheduleLedgerReload() {
    clearTimeout(ledgerTimer);
    ledgerTimer = setTimeout(() => {
      if (!document.getElementById("view-ledger").hidden) loadLedger();
      if (cy) loadGraph();
      if (!document.getElementById("view-map").hidden) drawMap();
    }, 300);
  }

  // --- ledger -------------------------------------------------------------------------
  function ledgerQuery() {
    const params = new URLSearchParams();
    for (const input of document.querySelectorAll("#ledger-filters input, #ledger-filters select")) {
      if (input.value.trim()) params.set(input.name, input.value.trim());
    }
    return params.toString();
  }

  // A report date (2026-12-07T10:21:46Z) to the minute, as the table shows it.
  function when(date) {
    return String(date || "").replace("T", " ").replace(/:\d\dZ$/, "");
  }

  function storyLink(id) {
    return el("a", { href: "/stories/" + encodeURIComponent(id), text: String(id) });
  }

  // Each status the entry reached, in order; one reported after a more advanced one is
  // marked "behind" (the entry's status never goes back).
  function timeline(entry) {
    const steps = (entry.history || []).map((h) => {
      const step = el("li", { class: h.behind ? "behind" : "" }, [
        el("span", { class: "status status-" + h.status, text: h.status }),
        el("time", { text: when(h.date) }),
        storyLink(h.story),
      ]);
      if (h.evidence) step.title = String(h.evidence);
      return step;
    });
    return el("ol", { class: "timeline" }, steps);
  }

  function ledgerRow(entry) {
    const cell = (value) => el("td", { text: value == null ? "" : String(value) });
    const row = el("tr", { class: "entry", "data-id": entry.id }, [
      cell(entry.supplier), cell(entry.recipient), cell(entry.system_class), cell(entry.kind),
      cell((entry.systems || []).join(", ")),
      el("td", {}, [el("span", { class: "status status-" + entry.status, text: String(entry.status) })]),
      cell((entry.denied_by || []).join(", ")), cell(when(entry.first_seen)), cell(when(entry.last_seen)),
      cell(entry.stories), cell(entry.sources),
    ]);
    const evidence = (entry.history || []).filter((h) => h.evidence).slice(-1)
      .map((h) => el("blockquote", { text: String(h.evidence) }));
    const detail = el("tr", { class: "detail", hidden: true }, [
      el("td", { colSpan: 11 }, [timeline(entry), ...evidence]),
    ]);
    row.addEventListener("click", () => { detail.hidden = !detail.hidden; });
    return [row, detail];
  }

  async function loadLedger() {
    const table = document.querySelector("#ledger tbody");
    const response = await fetch("/api/ledger?" + ledgerQuery());
    const data = await response.json();
    table.replaceChildren(...data.entries.flatMap(ledgerRow));
    document.getElementById("ledger-count").textContent = data.entries.length + " entries";
  }

  // --- graph --------------------------------------------------------------------------
  function edgeData(e) {
    return { id: e.id, source: e.source, target: e.target, label: e.system_class,
      count: e.count || 1, cls: e.system_class };
  }

  async function loadGraph() {
    const response = await fetch("/api/graph");
    const data = await response.json();
    const elements = [
      ...data.nodes.map((n) => ({ group: "nodes", data: { id: n.id, label: n.id } })),
      ...data.edges.map((e) => ({ group: "edges", data: edgeData(e) })),
    ];
    cy = cytoscape({
      container: document.getElementById("graph"),
      elements: elements,
      // The busiest actors in the middle, the rest in rings around them (deterministic).
      layout: { name: "concentric", animate: false, minNodeSpacing: 50,
        concentric: (node) => node.degree(), levelWidth: () => 2 },
      style: [
        { selector: "node", style: { label: "data(label)", "background-color": "#3b5b7a", color: "#fff",
          "text-valign": "center", "font-size": 12, width: 42, height: 42 } },
        { selector: "edge", style: { label: "data(label)", "curve-style": "bezier",
          "target-arrow-shape": "triangle", "font-size": 10, "text-rotation": "autorotate",
          width: "mapData(count, 1, 20, 1.5, 8)", "line-color": "#b0683a", "target-arrow-color": "#b0683a",
          "text-background-color": "#fff", "text-background-opacity": 0.8 } },
      ],
    });
    window.armswatchGraph = cy; // for the browser tests
  }

  async function drawMap() {
    const graph = await (await fetch("/api/graph")).json();
    await window.armswatchMap.draw(document.getElementById("map"), graph);
    document.getElementById("map").dataset.edges = String(graph.edges.length);
  }

  function drawGraph() {
    if (!cy) loadGraph(); else cy.resize();
  }

  // --- start --------------------------------------------------------------------------
  async function start() {
    for (const tab of document.querySelectorAll(".tab")) {
      tab.addEventListener("click", () => show(tab.dataset.view));
    }
    const form = document.getElementById("alert-filters");
    form.addEventListener("input", filterAlerts);
    form.addEventListener("submit", (e) => e.preventDefault());
    const ledgerForm = document.getElementById("ledger-filters");
    ledgerForm.addEventListener("input", scheduleLedgerReload);
    ledgerForm.addEventListener("submit", (e) => e.preventDefault());
    const response = await fetch("/api/alerts");
    const data = await response.json();
    for (const a of data.alerts) addAlert(a, false);
    filterAlerts();
    live(data.cursor);
    const view = location.hash.slice(1);
    show(["alerts", "ledger", "graph", "map"].includes(view) ? view : "alerts");
    document.body.dataset.ready = "1";
  }

  start();
})();
