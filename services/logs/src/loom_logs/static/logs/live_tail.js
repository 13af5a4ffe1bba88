// Live tail on the search page: new lines from the page's /tail stream (same filters), shown
// above the results. Log data is only ever set as textContent: a line cannot inject markup.
(function () {
  "use strict";
  var toggle = document.getElementById("live-toggle");
  var lines = document.getElementById("live-lines");
  var status = document.getElementById("live-status");
  if (!toggle || !lines || !status) {
    return;
  }
  var MAX_LINES = 500; // older live lines are removed so a long tail does not grow the page forever
  var DETAIL_KEYS = ["service", "env", "host", "logger", "function", "line", "process", "thread", "request_id"];
  var source = null;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function shownTime(iso) {
    // The server's format: "YYYY-MM-DD HH:MM:SS.mmm", UTC.
    var date = new Date(iso);
    return isNaN(date) ? iso : date.toISOString().replace("T", " ").replace("Z", "");
  }

  function row(table, name, value) {
    var tr = element("tr");
    tr.appendChild(element("th", "", name));
    var td = element("td");
    td.appendChild(element("code", "", value));
    tr.appendChild(td);
    table.appendChild(tr);
  }

  function render(record) {
    var details = element("details", "record live-record");
    details.dataset.recordId = String(record.id);
    var summary = element("summary");
    summary.appendChild(element("time", "time", shownTime(record.time)));
    summary.appendChild(element("span", "badge level " + String(record.level).toLowerCase(), record.level));
    summary.appendChild(element("span", "service", record.service || "—"));
    summary.appendChild(element("span", "message", String(record.message).split("\n")[0]));
    if (record.request_id) {
      var link = element("a", "request-id", record.request_id);
      link.href = "/requests/" + encodeURIComponent(record.request_id);
      summary.appendChild(link);
    }
    details.appendChild(summary);
    var body = element("div", "record-body");
    if (String(record.message).indexOf("\n") >= 0) {
      body.appendChild(element("pre", "full-message", record.message));
    }
    if (record.exception) {
      body.appendChild(element("pre", "exception", record.exception));
    }
    var table = element("table", "fields");
    row(table, "time", record.time);
    row(table, "level", record.level);
    DETAIL_KEYS.forEach(function (key) {
      if (record[key] !== null && record[key] !== undefined) {
        row(table, key, record[key]);
      }
    });
    Object.keys(record.fields || {}).sort().forEach(function (key) {
      var value = record.fields[key];
      row(table, key, typeof value === "string" ? value : JSON.stringify(value));
    });
    body.appendChild(table);
    details.appendChild(body);
    return details;
  }

  function start() {
    source = new EventSource(toggle.dataset.url);
    status.textContent = "connecting…";
    source.addEventListener("open", function () {
      status.textContent = "live";
    });
    source.addEventListener("log", function (event) {
      lines.insertBefore(render(JSON.parse(event.data)), lines.firstChild);
      while (lines.childElementCount > MAX_LINES) {
        lines.removeChild(lines.lastElementChild);
      }
    });
    source.addEventListener("dropped", function (event) {
      status.textContent = "live (" + event.data + " lines skipped: too many to show)";
    });
    source.addEventListener("error", function () {
      // EventSource retries by itself; CLOSED means it gave up (e.g. the session ended).
      status.textContent = source && source.readyState === EventSource.CLOSED ? "stopped: reload the page" : "reconnecting…";
    });
  }

  function stop() {
    if (source) {
      source.close();
      source = null;
    }
    status.textContent = "off";
  }

  toggle.addEventListener("change", function () {
    if (toggle.checked) {
      start();
    } else {
      stop();
    }
  });
})();
