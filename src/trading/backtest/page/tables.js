// report.html's tables, from the REPORT object: the summary (money in the quote currency), a basket's
// table by symbol, by exit reason, the risk rules, by day/week/month and every trade (the positions
// open at the end last; a basket's trades name their symbol).
"use strict";
var RT = (function () {
  const { iso, num, pct, money, hours, signClass, escapeHtml } = RF;
  const $ = (id) => document.getElementById(id);
  const stamp = (t) => t ? t.slice(0, 16).replace("T", " ") : "n/a";

  function table(el, head, rows) {
    el.innerHTML = (head ? "<thead><tr>" + head.map((h) => "<th>" + escapeHtml(h) + "</th>").join("") + "</tr></thead>" : "") +
      "<tbody>" + rows.map((r) => "<tr>" + r.map((cell) => {
        const [text, cls] = Array.isArray(cell) ? cell : [cell, ""];
        return "<td" + (cls ? " class='" + cls + "'" : "") + ">" + escapeHtml(text) + "</td>";
      }).join("") + "</tr>").join("") + "</tbody>";
    return el;
  }

  function summaryRows(s) {
    const cur = s.quote_currency || "", m = (v) => [money(v, cur), signClass(v)];
    const drawdown = s.max_drawdown_start ? stamp(s.max_drawdown_start) + " .. " + stamp(s.max_drawdown_end) +
      " (" + hours(s.max_drawdown_hours) + "; " + (s.max_drawdown_recovered ? "recovered " + stamp(s.max_drawdown_recovered) : "not recovered") + ")" : "n/a";
    return [
      ["Period", stamp(s.start) + " .. " + stamp(s.end)],
      ["Starting balance", money(s.starting_balance, cur)], ["Final equity", money(s.final_equity, cur)],
      ["Absolute profit", m(s.absolute_profit)],
      ["Total return", [pct(s.total_return_pct), signClass(s.total_return_pct)]],
      ["CAGR", [pct(s.cagr_pct), signClass(s.cagr_pct)]],
      ["Market (buy and hold)", [pct(s.market_change_pct), signClass(s.market_change_pct)]],
      ["Trades", String(s.trades)], ["Wins / draws / losses", s.wins + " / " + s.draws + " / " + s.losses],
      ["Win rate", pct(s.win_rate_pct)], ["Expectancy (per trade)", m(s.expectancy)],
      ["Expectancy ratio", num(s.expectancy_ratio, 3)],
      ["Profit factor", s.profit_factor === null ? (s.trades ? "n/a (no losing trade)" : "n/a") : num(s.profit_factor, 3)],
      ["Max drawdown", pct(s.max_drawdown_pct)], ["Drawdown from .. to", drawdown],
      ["Calmar", num(s.calmar, 3)], ["Sharpe", num(s.sharpe, 3)], ["Sortino", num(s.sortino, 3)],
      ["Exposure", pct(s.exposure_pct)], ["Avg trade", hours(s.avg_trade_hours)],
      ["Median trade", hours(s.median_trade_hours)],
      ["Avg winner / loser held", hours(s.avg_winner_hours) + " / " + hours(s.avg_loser_hours)],
      ["Best trade", [pct(s.best_trade_pct), signClass(s.best_trade_pct)]],
      ["Worst trade", [pct(s.worst_trade_pct), signClass(s.worst_trade_pct)]],
      ["Longest win / loss streak", s.max_consecutive_wins + " / " + s.max_consecutive_losses],
      ["Best day", s.best_day ? s.best_day + " (" + money(s.best_day_pnl, cur) + ")" : "n/a"],
      ["Worst day", s.worst_day ? s.worst_day + " (" + money(s.worst_day_pnl, cur) + ")" : "n/a"],
      ["Fees", money(s.fees, cur)],
      ["Open at the end", s.open_trades ? (s.open_trades === 1 ? "1 position" : s.open_trades + " positions") +
        ", pnl " + money(s.open_pnl, cur) + " at the last close" : "none"]];
  }

  function periods(tables, cur) {
    const box = $("period-tables");
    box.innerHTML = "";
    for (const unit of ["day", "week", "month"]) {
      const rows = tables["by_" + unit];
      if (!rows) continue;
      const h = document.createElement("h2"); h.textContent = "By " + unit;
      const el = document.createElement("table"); el.id = unit + "-table";
      box.append(h, el);
      const c = cur ? " (" + cur + ")" : "";
      table(el, [unit === "week" ? "week of" : unit, "trades", "win rate", "trades' pnl" + c, "account" + c, "return", "market"],
        rows.map((r) => [r[unit], String(r.trades), pct(r.win_rate_pct), [num(r.pnl), signClass(r.pnl)],
          [num(r.change), signClass(r.change)], [pct(r.return_pct), signClass(r.return_pct)],
          [pct(r.market_change_pct), signClass(r.market_change_pct)]]));
    }
  }

  function symbols(rows, cur) {
    // a basket's table per symbol, before the tables by period
    const h = document.createElement("h2"); h.textContent = "By symbol";
    const el = document.createElement("table"); el.id = "symbol-table";
    const box = document.createElement("div"); box.append(h, el);
    $("period-tables").before(box);
    const c = cur ? " (" + cur + ")" : "";
    const signed = (v, text) => [text, signClass(v)];
    table(el, ["symbol", "trades", "win rate", "pnl" + c, "best trade", "worst trade", "exposure",
      "open at the end" + c, "market"],
      rows.map((r) => [r.symbol, String(r.trades), pct(r.win_rate_pct), signed(r.pnl, num(r.pnl)),
        signed(r.best_trade_pct, pct(r.best_trade_pct)), signed(r.worst_trade_pct, pct(r.worst_trade_pct)),
        pct(r.exposure_pct), r.open_trades ? signed(r.open_pnl, num(r.open_pnl)) : "-",
        signed(r.market_change_pct, pct(r.market_change_pct))]));
  }

  function fill(R, onTradeClick) {
    const s = R.tables.summary, cur = s.quote_currency || "", T = R.trades, basket = !!R.symbols;
    table($("summary-table"), null, summaryRows(s));
    if (R.tables.by_symbol) symbols(R.tables.by_symbol, cur);
    table($("reason-table"), ["exit reason", "trades", "win rate", "avg pnl", "total pnl" + (cur ? " (" + cur + ")" : "")],
      R.tables.by_exit_reason.map((r) => [r.exit_reason, String(r.trades), pct(r.win_rate_pct),
        [pct(r.avg_pnl_pct), signClass(r.avg_pnl_pct)], [num(r.total_pnl), signClass(r.total_pnl)]]));
    periods(R.tables, cur);
    const risk = R.tables.risk, refused = Object.entries(risk.entries_refused);
    table($("risk-table"), ["rule", "entries refused"],
      (refused.length ? refused.map(([k, v]) => [k, String(v)]) : [["(none)", "0"]]).concat(
        [["kill switch", risk.kill_switch ? "tripped " + risk.kill_switch.time.replace("T", " ") : "not tripped"]]));
    // a basket's trades name their symbol
    const el = table($("trades-table"), ["#", ...(basket ? ["symbol"] : []), "entry", "exit", "entry price", "exit price",
      "pnl" + (cur ? " (" + cur + ")" : ""), "pnl %", "exit reason", "bars"],
      T.map((tr) => [String(tr.n), ...(basket ? [tr.symbol] : []), iso(tr.entry_t), iso(tr.exit_t), num(tr.entry_p), num(tr.exit_p),
        [num(tr.pnl), signClass(tr.pnl)], [pct(tr.pnl_pct), signClass(tr.pnl_pct)],
        tr.open ? "open (marked to market at the last close)" : tr.reason, String(tr.bars)]));
    el.querySelectorAll("tbody tr").forEach((row, i) => {
      if (T[i].open) row.classList.add("open");
      row.addEventListener("click", () => onTradeClick(T[i]));
    });
    $("provenance").textContent = JSON.stringify(R.provenance, null, 2);
  }

  return { fill, summaryRows };
})();
