// brainalign leaderboard: builds the sortable, filterable table of index.html from the embedded JSON.
(function () {
  "use strict";
  var table = document.getElementById("board");
  if (!table) { return; }  // a model page: static tables only
  var data = JSON.parse(document.getElementById("board-data").textContent);
  var filter = document.getElementById("filter");
  var count = document.getElementById("count");
  var sortKey = data.columns.length ? data.columns[0].id : "model";
  var descending = true;

  function value(model, key) {
    if (key === "model") { return model.model.toLowerCase(); }
    if (key === "training_status") { return (model.training_status || "").toLowerCase(); }
    var cell = model.cells[key];
    return cell && cell.value !== null ? cell.value : null;
  }

  function compare(a, b) {
    var x = value(a, sortKey), y = value(b, sortKey);
    if (x === null && y === null) { return 0; }
    if (x === null) { return 1; }  // missing scores last, whatever the direction
    if (y === null) { return -1; }
    var order = x < y ? -1 : x > y ? 1 : 0;
    return descending ? -order : order;
  }

  function header() {
    var row = document.createElement("tr");
    var columns = [{ id: "model", label: "model", title: "model identifier" },
                   { id: "training_status", label: "training status", title: "what the weights learned from" }]
      .concat(data.columns.map(function (c) {
        var title = c.kind === "composite"
          ? "composite v" + c.version + ": mean of " + c.members.join(", ")
          : "v" + c.versions.join(", v") + (c.versions.length > 1 ? " (models scored on different versions)" : "") +
            (c.units ? " · units: " + c.units : "");
        return { id: c.id, label: c.label, title: title, kind: c.kind };
      }));
    columns.forEach(function (c) {
      var th = document.createElement("th");
      th.textContent = c.label;
      th.title = c.title;
      th.dataset.key = c.id;
      if (c.kind) { th.className = c.kind; }
      if (c.id === sortKey) { th.setAttribute("aria-sort", descending ? "descending" : "ascending"); }
      th.addEventListener("click", function () {
        descending = sortKey === c.id ? !descending : c.id !== "model" && c.id !== "training_status";
        sortKey = c.id;
        render();
      });
      row.appendChild(th);
    });
    var head = document.createElement("thead");
    head.appendChild(row);
    return head;
  }

  function render() {
    var query = (filter.value || "").trim().toLowerCase();
    var shown = data.models.filter(function (m) {
      return !query || m.model.toLowerCase().indexOf(query) >= 0 ||
        (m.training_status || "").toLowerCase().indexOf(query) >= 0;
    }).sort(compare);
    var body = document.createElement("tbody");
    shown.forEach(function (m) {
      var row = document.createElement("tr");
      row.dataset.model = m.model;
      var name = document.createElement("td");
      var link = document.createElement("a");
      link.href = "models/" + encodeURIComponent(m.slug) + ".html";
      link.textContent = m.model;
      name.appendChild(link);
      row.appendChild(name);
      var status = document.createElement("td");
      status.textContent = m.training_status || "?";
      row.appendChild(status);
      data.columns.forEach(function (c) {
        var td = document.createElement("td");
        var cell = m.cells[c.id];
        if (cell && cell.value !== null) {
          td.textContent = cell.value.toFixed(3);
          td.dataset.value = String(cell.value);
          td.title = cell.layer ? "best layer: " + cell.layer + " (v" + cell.version + ")"
            : cell.n_scored + " of " + cell.n_benchmarks + " scored";
        } else {
          td.textContent = "–";
        }
        td.dataset.key = c.id;
        td.className = c.kind;
        row.appendChild(td);
      });
      body.appendChild(row);
    });
    table.replaceChildren(header(), body);
    count.textContent = shown.length + " of " + data.models.length + " models";
  }

  filter.addEventListener("input", render);
  render();
}());
