// The alert list's live updates: server-sent events from /console/alerts/stream (same origin, the officer's
// session cookie). Each "alert" event carries one row as JSON; the row is inserted newest first or replaced in
// place. Text goes in with textContent only, never as markup.
(function () {
  "use strict";
  var table = document.getElementById("alerts");
  if (!table || !window.EventSource) { return; }
  var body = table.tBodies[0];
  var labels = Array.prototype.map.call(table.tHead.rows[0].cells, function (th) { return th.textContent; });
  var status = document.getElementById("alerts-live");
  var empty = document.getElementById("alerts-empty");

  function cell(label, text, className) {
    var td = document.createElement("td");
    td.setAttribute("data-label", label);
    td.textContent = text;
    if (className) { td.className = className; }
    return td;
  }

  function render(a) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-id", a.id);
    tr.setAttribute("data-raised", String(a.raisedMs));
    var first = cell(labels[0], "");
    var link = document.createElement("a");
    link.href = "/console/alerts/" + encodeURIComponent(a.id);
    link.textContent = a.raised;
    first.appendChild(link);
    tr.appendChild(first);
    tr.appendChild(cell(labels[1], a.severityText, "severity-" + a.severity));
    tr.appendChild(cell(labels[2], a.stateText));
    tr.appendChild(cell(labels[3], a.principal));
    tr.appendChild(cell(labels[4], a.store));
    tr.appendChild(cell(labels[5], a.detector));
    tr.appendChild(cell(labels[6], a.summary));
    return tr;
  }

  function upsert(a) {
    var row = render(a);
    var rows = body.rows;
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute("data-id") === a.id) {
        body.replaceChild(row, rows[i]);
        return;
      }
    }
    row.className = "fresh";
    var before = null;
    for (var j = 0; j < rows.length; j++) {
      if (Number(rows[j].getAttribute("data-raised")) < a.raisedMs) { before = rows[j]; break; }
    }
    body.insertBefore(row, before);
    if (empty) { empty.hidden = true; }
  }

  var source = new EventSource(table.getAttribute("data-stream"));
  source.addEventListener("alert", function (e) { upsert(JSON.parse(e.data)); });
  source.addEventListener("open", function () { if (status) { status.textContent = status.getAttribute("data-connected"); } });
  source.addEventListener("error", function () { if (status) { status.textContent = status.getAttribute("data-disconnected"); } });
}());
