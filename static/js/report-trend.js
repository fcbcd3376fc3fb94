// 目标考核 dashboard (templates/assessments/reports/dashboard.html): one line chart per indicator
// with the region's value over the years and the target that applied each year (dashed), from
// the page's JSON block (CSP: no inline scripts or styles; ECharts is served locally). The
// table behind each chart carries the same numbers for readers without the chart.
(function () {
  "use strict";

  var font = '"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif';

  // The figures come as the page shows them: strings rounded half-up to 2 decimals ("66.67"),
  // null where there is no report or no value; plotted as numbers, labelled as given.
  function num(v) { return v === null || v === undefined ? null : parseFloat(v); }
  function text(v, unit) { return v === null || v === undefined ? "—" : String(v) + (unit || ""); }

  function draw(el, t) {
    el.style.height = "240px";
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    var years = t.points.map(function (p) { return String(p.year); });
    var hasTarget = t.points.some(function (p) { return p.target !== null; });
    var series = [{
      name: "值", type: "line", connectNulls: false, symbolSize: 8,
      data: t.points.map(function (p) { return num(p.value); }),
      label: { show: true, formatter: function (p) { return text(t.points[p.dataIndex].value); } }
    }];
    if (hasTarget) {
      series.push({
        name: "目标", type: "line", step: "middle", symbol: "none",
        lineStyle: { type: "dashed", width: 2 },
        data: t.points.map(function (p) { return num(p.target); })
      });
    }
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: font },
      color: ["#0d6efd", "#dc3545"],
      legend: { top: 0, data: hasTarget ? ["值", "目标"] : ["值"] },
      grid: { left: 8, right: 24, top: 36, bottom: 8, containLabel: true },
      tooltip: {
        trigger: "axis",
        formatter: function (items) {
          var p = t.points[items[0].dataIndex];
          return p.year + "年<br>值：" + text(p.value, t.unit) + "<br>目标：" + text(p.target, t.unit) +
            "<br>" + (p.status || "");
        }
      },
      xAxis: { type: "category", data: years },
      // Rates on 0–100 (a target of 100% is the top line); counts and scores from 0.
      yAxis: t.unit === "%" ? { type: "value", name: "%", min: 0, max: 100 } : { type: "value", name: t.unit || "", min: 0 },
      series: series
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function start() {
    var src = document.getElementById("report-trend");
    if (!src || typeof window.echarts === "undefined") { return; }
    var data = JSON.parse(src.textContent);
    data.forEach(function (t) {
      var el = document.querySelector("[data-trend-chart='" + t.code + "']");
      if (el) { draw(el, t); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
