// The map: supplier -> recipient arrows between states on a world outline (Natural Earth
// 1:110m via world-atlas, read with topojson-client; equirectangular, nothing fetched
// from elsewhere). Built with DOM calls only: names and codes go in as text.
"use strict";

window.armswatchMap = (function () {
  const SVG = "http://www.w3.org/2000/svg";
  let world = null; // numeric id -> {rings, centre}

  function svg(tag, attrs, children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    for (const child of children || []) node.appendChild(child);
    return node;
  }

  function rings(geometry) {
    if (!geometry) return [];
    if (geometry.type === "Polygon") return geometry.coordinates;
    if (geometry.type === "MultiPolygon") return geometry.coordinates.flat();
    return [];
  }

  // The centre of a country: the mean of its largest ring's points (good enough to pin an arrow).
  function centre(allRings) {
    let best = allRings[0];
    for (const ring of allRings) if (ring.length > best.length) best = ring;
    const sum = best.reduce((acc, [x, y]) => [acc[0] + x, acc[1] + y], [0, 0]);
    return [sum[0] / best.length, sum[1] / best.length];
  }

  async function load() {
    if (world) return world;
    const topo = await (await fetch("/static/vendor/countries-110m.json")).json();
    const features = topojson.feature(topo, topo.objects.countries).features;
    world = new Map();
    for (const f of features) {
      const rs = rings(f.geometry);
      if (rs.length) world.set(String(f.id), { rings: rs, centre: centre(rs), name: f.properties.name });
    }
    return world;
  }

  // Rings as SVG path data; a ring that runs along the antimeridian (Russia, Fiji) is cut
  // where it jumps across the map instead of drawing a line through it.
  function outline(rs) {
    return rs.map((ring) => {
      let d = "";
      let last = null;
      for (const [x, y] of ring) {
        d += (last === null || Math.abs(x - last) > 180 ? "M" : "L") + x.toFixed(2) + "," + (-y).toFixed(2);
        last = x;
      }
      return d + "Z";
    }).join("");
  }

  function arrow(from, to, bend) {
    const [x1, y1] = [from[0], -from[1]];
    const [x2, y2] = [to[0], -to[1]];
    const [mx, my] = [(x1 + x2) / 2, (y1 + y2) / 2];
    const [dx, dy] = [x2 - x1, y2 - y1];
    const length = Math.hypot(dx, dy) || 1;
    const k = 0.18 + bend * 0.12;
    const [cx, cy] = [mx - dy * k, my + dx * k];
    return "M" + x1 + "," + y1 + " Q" + cx + "," + cy + " " + x2 + "," + y2;
  }

  async function draw(container, graph) {
    const places = await load();
    const root = svg("svg", { viewBox: "-170 -84 340 146", class: "world", role: "img" });
    root.appendChild(svg("defs", {}, [
      svg("marker", { id: "head", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 4,
        markerHeight: 4, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" }, [svg("path", { d: "M0,0L10,5L0,10z", class: "head" })]),
    ]));
    const land = svg("g", { class: "land" });
    for (const [id, place] of places) {
      const shape = svg("path", { d: outline(place.rings), "data-id": id });
      shape.appendChild(svg("title")).textContent = place.name;
      land.appendChild(shape);
    }
    root.appendChild(land);
    const at = new Map();
    const unplaced = [];
    for (const node of graph.nodes) {
      const place = node.numeric && places.get(node.numeric);
      if (place) at.set(node.id, place.centre); else unplaced.push(node.id);
    }
    const pairs = new Map();
    const edges = svg("g", { class: "edges" });
    for (const e of graph.edges) {
      if (!at.has(e.source) || !at.has(e.target) || e.source === e.target) continue;
      const pair = e.source + ">" + e.target;
      const bend = pairs.get(pair) || 0;
      pairs.set(pair, bend + 1);
      const path = svg("path", { d: arrow(at.get(e.source), at.get(e.target), bend),
        class: "edge cls-" + e.system_class, "data-id": e.id, "marker-end": "url(#head)",
        "stroke-width": Math.min(1 + Math.log2(e.count || 1), 5) });
      path.appendChild(svg("title")).textContent =
        e.source + " -> " + e.target + " " + e.system_class + " (" + e.count + " stories; " + e.statuses.join(", ") + ")";
      edges.appendChild(path);
    }
    root.appendChild(edges);
    const nodes = svg("g", { class: "nodes" });
    for (const [id, [x, y]] of at) {
      const label = svg("text", { x: x + 2, y: -y + 1, class: "label" });
      label.textContent = id;
      nodes.append(svg("circle", { cx: x, cy: -y, r: 1.3, "data-id": id }), label);
    }
    root.appendChild(nodes);
    const note = document.createElement("p");
    note.className = "hint";
    note.id = "map-unplaced";
    note.textContent = unplaced.length ? "Not on the map (armed groups, unknown places): " + unplaced.join(", ") : "";
    container.replaceChildren(root, note);
  }

  return { draw: draw };
})();
