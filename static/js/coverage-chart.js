// The coverage chart per township (contracts/coverage.html): stacked horizontal bars of the
// elder-care institutions providing / not providing medical care, from the page's JSON block
// (CSP: no inline scripts or styles; ECharts is served locally). The table beside it carries
// the same numbers for readers without the chart.
(function () {
  "use strict";

  function draw() {
    var el = document.getElementById("coverage-chart");
    var src = document.getElementById("coverage-data");
    if (!el || !src || typeof window.echarts === "undefined") { return; }
    var data = JSON.parse(src.textContent);
    var n = data.townships.length;
    el.style.height = Math.max(260, 44 * n + 90) + "px";
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    var font = '"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif';
    var hideZero = function (p) { return p.value ? String(p.value) : ""; };
    // The rates come as the page shows them: strings rounded half-up to 2 decimals ("66.67"),
    // null for a township without operating homes; never re-rounded here.
    var showRate = function (r) { return r === null || r === undefined ? "—" : String(r) + "%"; };
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: font },
      color: ["#198754", "#dc3545", "#adb5bd"],
      legend: { top: 0, data: ["已覆盖", "未覆盖"] },
      grid: { left: 8, right: 56, top: 36, bottom: 8, containLabel: true },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        formatter: function (items) {
          var i = items[0].dataIndex;
          var rate = data.rates[i];
          return data.townships[i] + "<br>已覆盖：" + data.covered[i] + " 家<br>未覆盖：" +
            data.uncovered[i] + " 家<br>覆盖率：" + showRate(rate);
        }
      },
      xAxis: { type: "value", minInterval: 1, name: "家" },
      yAxis: { type: "category", inverse: true, data: data.townships, axisTick: { show: false } },
      series: [
        { name: "已覆盖", type: "bar", stack: "homes", barMaxWidth: 28, data: data.covered,
          label: { show: true, color: "#fff", formatter: hideZero } },
        { name: "未覆盖", type: "bar", stack: "homes", barMaxWidth: 28, data: data.uncovered,
          label: { show: true, color: "#fff", formatter: hideZero } },
        // An empty bar at the end of each stack carries the rate as its label.
        { name: "覆盖率", type: "bar", stack: "homes", silent: true,
          data: data.townships.map(function () { return 0; }),
          label: { show: true, position: "right", color: "#495057",
                   formatter: function (p) { return showRate(data.rates[p.dataIndex]); } } }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
