// autocode review: a small script, no build step and no network beyond this server.
// Every action POSTs JSON with the session token, then re-renders the current view.
"use strict";
const TOKEN = document.querySelector('meta[name="autocode-token"]').content;
const view = document.getElementById("view");
const statusBox = document.getElementById("status");
let current = {name: "candidates", query: ""};
let selected = new Set();

function say(text, bad) {  // the status line under the header
  statusBox.textContent = text;
  statusBox.className = bad ? "bad" : "good";
}

class ServerGone extends Error {}   // the review server stopped: no answer at all, not a refusal
const GONE = "The review server has stopped: run autocode review again, then reload this page.";

async function reach(path, options) {
  try { return await fetch(path, options); } catch (error) { throw new ServerGone(GONE); }
}

async function post(path, body) {
  const response = await reach(path, {
    method: "POST", headers: {"Content-Type": "application/json", "X-Autocode-Token": TOKEN},
    body: JSON.stringify(body || {}),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const refusal = `${data.error || response.statusText}${data.what_to_do ? ". What to do: " + data.what_to_do : ""}`;
    say(refusal, true);
    throw Object.assign(new Error(data.error), {refusal});
  }
  return data;
}

async function show(name, query) {
  current = {name, query: query || ""};
  if (!name.startsWith("candidate/")) location.hash = name;
  document.querySelectorAll("[role=tab]").forEach(t =>
    t.setAttribute("aria-selected", String(name.startsWith(t.dataset.view.replace(/s$/, "")))));
  await refresh();
}

async function refresh() {
  let response;
  try { response = await reach(`/part/${current.name}${current.query}`); } catch (error) { return say(GONE, true); }
  const active = document.activeElement && document.activeElement.closest(".item");
  const focused = active && (active.dataset.id || active.dataset.utterance);
  view.innerHTML = await response.text();
  if (!response.ok) { view.innerHTML = ""; say("That view could not be shown; go back to Candidates.", true); }
  selected = new Set([...selected].filter(id => view.querySelector(`.card[data-id="${id}"]`)));
  selected.forEach(id => { const box = view.querySelector(`.pick-box[data-id="${id}"]`); if (box) box.checked = true; });
  const again = focused && view.querySelector(`.item[data-id="${focused}"], .item[data-utterance="${focused}"]`);
  if (again) again.focus();
  await updateHistory();
  view.dataset.ready = String(Date.now());
}

async function updateHistory() {
  const state = await (await fetch("/api/state")).json();
  for (const kind of ["undo", "redo"]) {
    const button = document.getElementById(kind);
    button.disabled = !state[kind];
    button.title = state[kind] ? `${kind[0].toUpperCase() + kind.slice(1)}: ${state[kind]}` : `Nothing to ${kind}`;
  }
}

function choices() {
  const node = view.querySelector("#choices");
  return node ? JSON.parse(node.textContent) : {themes: [], codes: []};
}

// A small form in a <dialog>; resolves to the values, or null when cancelled. ``problem``: why
// the server refused what was typed last time, shown above the fields that still hold it.
function ask(title, fields, problem) {
  const dialog = document.getElementById("form");
  document.getElementById("form-title").textContent = title;
  document.getElementById("form-problem").textContent = problem || "";
  const box = document.getElementById("form-fields");
  box.innerHTML = "";
  for (const f of fields) {
    const label = document.createElement("label");
    label.textContent = f.label;
    const input = document.createElement(f.options ? "select" : f.long ? "textarea" : "input");
    input.id = `f-${f.name}`;
    input.name = f.name;
    for (const [value, text] of f.options || []) input.add(new Option(text, value));
    input.value = f.value || "";
    label.appendChild(input);
    box.appendChild(label);
  }
  dialog.showModal();
  return new Promise(resolve => {
    dialog.addEventListener("close", () => {
      if (dialog.returnValue !== "ok") return resolve(null);
      resolve(Object.fromEntries(fields.map(f => [f.name, document.getElementById(`f-${f.name}`).value])));
    }, {once: true});
  });
}

async function decideCode(title, label, action, theme) {
  const {themes, codes} = choices();
  let values = {name: label, definition: "", theme: theme || (themes[0] || {id: "__new"}).id, newtheme: "", code: ""};
  let problem = "", result = null, fresh = false;
  while (!result) {   // a refusal opens the form again, with what was typed and why it was refused
    values = await ask(title, [
      {name: "name", label: "Code name", value: values.name},
      {name: "definition", label: "Definition (what belongs here)", long: true, value: values.definition},
      {name: "theme", label: "Theme", value: values.theme,
       options: [...themes.map(t => [t.id, t.name]), ["__new", "New theme\u2026"]]},
      {name: "newtheme", label: "New theme name (if chosen above)", value: values.newtheme},
      {name: "code", label: "Or add to an existing code", value: values.code,
       options: [["", "(a new code)"], ...codes.map(c => [c.id, c.name])]},
    ], problem);
    if (!values) return problem ? say(problem, true) : say("Nothing was decided.");
    fresh = values.theme === "__new" && !values.code;   // the theme is made in the same step as the code
    if (fresh && !values.newtheme.trim()) { problem = "Type a name for the new theme, then press OK."; continue; }
    try {
      result = await action({name: values.name, definition: values.definition,   // an existing code keeps its theme
                             theme: fresh || values.code ? "" : values.theme,
                             code: values.code || null, new_theme: fresh ? values.newtheme.trim() : null});
    } catch (error) {   // what was typed can be put right in the form; a candidate decided meanwhile cannot
      if (!error.refusal || /candidate \d+/.test(error.message)) throw error;
      problem = error.refusal;
    }
  }
  const chosen = (themes.find(t => t.id === result.theme) || {name: fresh ? values.newtheme.trim() : result.theme}).name;
  const existing = codes.some(c => c.id === result.code);   // an existing code keeps its own theme
  const notes = [];
  if (result.theme_not_used) notes.push("the theme you chose was not used: an existing code stays under its own theme (move it in the Codebook view)");
  if (result.also_coded) notes.push(`${result.also_coded} of these utterances already had another of your codes, and now carry both`);
  if (result.was_no_code) notes.push(`${result.was_no_code} of these utterances you had coded "no code": they now carry this code instead`);
  say(`Coded ${result.codings} utterances as \u201c${result.name}\u201d` +
      (existing ? `, the existing code under \u201c${chosen}\u201d.` : ` under \u201c${chosen}\u201d.`) +
      (notes.length ? ` Note: ${notes.join("; ")}.` : ""));
}

const actions = {
  async accept(el) {
    const id = Number(el.dataset.id);
    const label = (view.querySelector(`.card[data-id="${id}"] .label`) || view.querySelector(".label")).textContent;
    await decideCode(`Accept candidate #${id}`, label, body => post(`/api/candidates/${id}/accept`, body), el.dataset.theme);
  },
  async "merge-selected"() {
    const ids = [...selected].map(Number);
    if (ids.length < 2) return say("Select two or more cards first (tick them, or press x), then merge.", true);
    const card = view.querySelector(`.card[data-id="${ids[0]}"]`);
    const first = card.querySelector(".label").textContent;
    const theme = card.querySelector('[data-action="accept"]').dataset.theme;   // its closest code's, as Accept offers
    await decideCode(`Merge candidates #${ids.join(", #")}`, first, body => post("/api/candidates/merge", {...body, ids}), theme);
    selected.clear();
  },
  async rename(el) {
    const values = await ask(`Rename candidate #${el.dataset.id}`, [{name: "label", label: "New label", value: el.dataset.label}]);
    if (values) await post(`/api/candidates/${el.dataset.id}/rename`, values);
  },
  async split(el) {
    const result = await post(`/api/candidates/${el.dataset.id}/split`, {parts: 2});
    say(`Split into candidates #${result.candidates.join(" and #")}.`);
    if (current.name.startsWith("candidate/")) current = {name: "candidates", query: ""};
  },
  async reject(el) {
    await post("/api/candidates/reject", {ids: [Number(el.dataset.id)]});
    say(`Rejected candidate #${el.dataset.id}.`);
    if (current.name.startsWith("candidate/")) current = {name: "candidates", query: ""};
  },
  async reopen(el) {
    await post(`/api/candidates/${el.dataset.id}/reopen`);
    say(`Reopened candidate #${el.dataset.id}, \u201c${el.dataset.label}\u201d: it is back among the cards to decide.`);
  },
  async propose() {
    say("Finding candidate codes\u2026 (this can take a minute on a large project)");
    const result = await post("/api/propose");
    say(`Found ${result.candidates} candidate codes.`);
  },
  async open(el) { await show(`candidate/${el.dataset.id}`); },
  async "remove-utterance"(el) {
    await post(`/api/candidates/${el.dataset.id}/utterances/${el.dataset.utterance}/remove`);
  },
  async "show-more"(el) { current.query = `?shown=${el.dataset.shown}`; },
  async "move-utterance"(el) {
    if (el.value) await post(`/api/candidates/${el.dataset.id}/utterances/${el.dataset.utterance}/move`, {code: el.value});
  },
  async "add-theme"() {
    const values = await ask("New theme", [{name: "name", label: "Theme name"}, {name: "definition", label: "Definition", long: true}]);
    if (values) await post("/api/themes", values);
  },
  async "rename-theme"(el) {
    const values = await ask("Rename theme", [{name: "name", label: "New name", value: el.dataset.label}]);
    if (values) await post(`/api/themes/${el.dataset.theme}/rename`, values);
  },
  async "theme-up"(el) { await moveTheme(el.dataset.theme, -1); },
  async "theme-down"(el) { await moveTheme(el.dataset.theme, 1); },
  async "rename-code"(el) {
    const values = await ask("Rename code", [{name: "name", label: "New name", value: el.dataset.label}]);
    if (values) await post(`/api/codes/${el.dataset.code}/rename`, values);
  },
  async "define-code"(el) {
    const values = await ask("Code definition", [{name: "definition", label: "Definition", value: el.dataset.label, long: true}]);
    if (values) await post(`/api/codes/${el.dataset.code}/define`, values);
  },
  async "move-code"(el) { await post(`/api/codes/${el.dataset.code}/move`, {theme: el.value}); },
  async "merge-code"(el) {
    const into = el.options[el.selectedIndex].text;
    if (!el.value) return;
    if (!confirm(`Merge the code “${el.dataset.label}” into “${into}”? Every coder's codings of it ` +
                 "become codings of the code kept. Undo takes it back.")) { el.value = ""; return say("Nothing was merged."); }
    const result = await post(`/api/codes/${el.dataset.code}/merge`, {into: el.value});
    say(`Merged “${el.dataset.label}” into “${into}”: ${result.codings} codings moved.`);
  },
  async "remove-code"(el) {
    if (!confirm(`Remove the code “${el.dataset.label}” and every coder's codings of it? Undo takes it back. ` +
                 "To keep its codings under another code, choose Merge into instead.")) return say("Nothing was removed.");
    const result = await post(`/api/codes/${el.dataset.code}/remove`, {with_codings: true});
    say(`Removed the code “${el.dataset.label}” and ${result.codings} codings of it.`);
  },
  async "remove-theme"(el) {
    await post(`/api/themes/${el.dataset.theme}/remove`);
    say(`Removed the theme “${el.dataset.label}”.`);
  },
  async "accept-suggestion"(el) {   // the code shown: a suggestion changed since is not accepted unseen
    await post(`/api/suggestions/${el.dataset.utterance}/accept`, {expected: el.dataset.suggested});
  },
  async "reject-suggestion"(el) { await post(`/api/suggestions/${el.dataset.utterance}/reject`); },
  async "code-utterance"(el) {   // "-" stands for "no code": the empty choice means none was made
    if (el.value) await post(`/api/utterances/${el.dataset.utterance}/code`, {code: el.value === "-" ? "" : el.value});
  },
  async recode(el) { if (el.value) await post(`/api/suggestions/${el.dataset.utterance}/accept`, {code: el.value}); },
  async "accept-above"() {
    const threshold = confidenceTyped(view.querySelector("#threshold").value);
    if (threshold === null) return say("Type a confidence from 0 to 1, such as 0.8, or a percentage, such as 80%, then press Accept.", true);
    const doc = view.querySelector("#document").value;
    const every = view.querySelector("#above-scope").value === "all";
    if (!confirm(`Accept, as your codings, every undecided suggestion ${every ? "in every transcript" : "in " + doc} ` +
                 `with confidence ${threshold} or more? They are marked as accepted unread.`)) return say("Nothing was accepted.");
    const result = await post("/api/suggestions/accept-above", {threshold, documents: every ? null : [doc]});
    say(`Accepted ${result.accepted} suggestions at or above ${threshold}` +
        (result.no_code ? `, ${result.no_code} of them \u201cno code\u201d.` : "."));
  },
  async retrain() {
    const doc = view.querySelector("#document").value;   // before any wait: the view may change meanwhile
    const state = await (await reach("/api/state")).json();
    const other = state.trained_coder && state.trained_coder !== state.coder;
    if (!other && state.undo && !confirm("Retraining makes new suggestions, and decisions made before them can no " +
                                         "longer be undone. Retrain now?")) return say("Nothing was retrained.");
    if (other && !confirm(`The classifier learnt from ${state.trained_coder}'s codings. Retraining here makes one that ` +
                          `learns from ${state.coder}'s codings only, and new suggestions end undo for the decisions ` +
                          `made before them. Replace it? (autocode train --coder ${state.trained_coder} brings it back.)`))
      return say("Nothing was retrained.");
    // every transcript with suggestions gets the new model's, so none is left with the old one's
    const docs = [doc, ...Array.from(view.querySelectorAll("#document option"))
      .filter(o => Number(o.dataset.suggested) > 0 && o.value !== doc).map(o => o.value)];
    say(`Training on ${state.coder}'s confirmed codings\u2026 (on a large project this takes a minute or two)`);
    const model = await post("/api/train", {replace_other: Boolean(other)});
    say(`Suggesting codes afresh in ${docs.length} transcript${docs.length === 1 ? "" : "s"}\u2026`);
    const result = await post("/api/suggest", {documents: docs});
    const borrowed = model.borrowed ? ` (and ${model.borrowed} uncoded ones of the same answers, with their neighbours' codes)` : "";
    say(`Trained on ${model.utterances} utterances${borrowed}; ${result.suggested} new suggestions in ` +
        `${docs.length} transcript${docs.length === 1 ? "" : "s"}.` +
        (result.suggested ? " Decisions made before them can no longer be undone." : ""));
  },
  async "pick-document"() { current.query = suggestionQuery(); },
  async "pick-coders"() { current.query = `?coders=${encodeURIComponent(pair().join(","))}`; },
  async "take-agreed"() {
    const r = await post("/api/consensus/take-agreed", {coders: pair()});
    say(`The consensus took ${r.agreed} utterances coded alike; ${r.to_settle} remain to settle.`);
  },
  async "settle-take"(el) {
    await post(`/api/consensus/${el.dataset.utterance}`, {coders: pair(), codes: JSON.parse(el.dataset.codes)});
  },
  async "settle-code"(el) {
    if (el.value) await post(`/api/consensus/${el.dataset.utterance}`, {coders: pair(), codes: [el.value === "-" ? "" : el.value]});
  },
  async "pick-order"() { current.query = suggestionQuery(); },
  async undo() {
    const state = await (await reach("/api/state")).json();
    if (state.undo && state.undo_by && state.undo_by !== state.coder &&
        !confirm(`Undo ${state.undo}? It was ${state.undo_by}'s decision, not yours.`)) return say("Nothing was undone.");
    const r = await post("/api/undo");
    say(`Undone: ${r.what}${r.by && r.by !== state.coder ? ` (${r.by}'s decision)` : ""}.`);
  },
  async redo() { const r = await post("/api/redo"); say(`Redone: ${r.what}.`); },
};

function confidenceTyped(text) {
  // "0.8", "0,8" (a decimal comma) and "80%" mean 0.8; anything else is refused, not guessed
  const typed = text.trim().replace(",", ".");
  const percent = typed.endsWith("%");
  const number = Number(percent ? typed.slice(0, -1) : typed);
  if (typed === "" || !/^[0-9.]+%?$/.test(typed) || Number.isNaN(number)) return null;
  const value = percent ? number / 100 : number;
  return value >= 0 && value <= 1 ? value : null;
}

function suggestionQuery() {
  return `?document=${encodeURIComponent(view.querySelector("#document").value)}&order=${view.querySelector("#order").value}`;
}

async function moveTheme(id, step) {
  const ids = [...view.querySelectorAll(".theme")].map(t => t.dataset.theme);
  const i = ids.indexOf(id);
  [ids[i], ids[i + step]] = [ids[i + step], ids[i]];
  await post("/api/themes/order", {ids});
}

let pending = 0;  // actions queued or running; tests wait for 0
let queue = Promise.resolve();

// Actions run one after another, each on the page its predecessor left: keys pressed quickly
// ("d", "j", "d") all count, and none acts on a view that is being redrawn.
// The element an action was asked of, in the page as it is now: a redraw since replaced it.
// Null when it is gone (an earlier action decided its card). A list keeps the choice it had.
function sameOnPage(el) {
  if (!el || el.isConnected || el.tagName === "SELECT") return el;
  const keys = ["id", "utterance", "code", "theme"].filter(k => el.dataset[k] !== undefined);
  const selector = `[data-action="${el.dataset.action}"]` + keys.map(k => `[data-${k}="${CSS.escape(el.dataset[k])}"]`).join("");
  return document.querySelector(selector);
}

function run(name, el) {
  document.body.dataset.pending = String(++pending);
  queue = queue.then(() => runNow(name, el)).finally(() => { document.body.dataset.pending = String(--pending); });
  return queue;
}

async function runNow(name, el) {
  el = sameOnPage(el);
  if (el === null) return;   // its card went with an earlier action
  say("");   // an earlier message must not read as this action's outcome
  try {
    await actions[name](el);
  } catch (error) {
    if (error instanceof ServerGone) say(GONE, true);
    else if (!statusBox.classList.contains("bad")) say(`That did not work: ${error.message}`, true);
  }
  await refresh();
}

document.addEventListener("click", event => {
  const tab = event.target.closest("[data-view]");
  if (tab) { event.preventDefault(); return show(tab.dataset.view); }
  const el = event.target.closest("button[data-action]");
  if (event.detail > 1) return;   // the second click of a double click would do it twice
  if (el && actions[el.dataset.action]) run(el.dataset.action, el);
});

// A candidate's "Move to code" lists are filled when first used: one list per utterance, each
// with every code, made pages of hundreds of utterances slow to draw.
document.addEventListener("focusin", event => {
  const box = event.target.closest('select[data-codes="lazy"]');
  if (!box) return;
  const {themes, codes} = JSON.parse(document.getElementById("choices").textContent);
  for (const t of themes) {
    const group = document.createElement("optgroup");
    group.label = t.name;
    for (const c of codes.filter(c => c.theme === t.id)) group.append(new Option(c.name, c.id));
    box.append(group);
  }
  box.dataset.codes = "filled";
});

document.addEventListener("change", event => {
  const el = event.target;
  if (el.classList.contains("pick-box")) {
    el.checked ? selected.add(el.dataset.id) : selected.delete(el.dataset.id);
    el.closest(".card").classList.toggle("selected", el.checked);
  } else if (el.matches("select[data-action]") && actions[el.dataset.action]) {
    run(el.dataset.action, el);
  }
});

// Drag one card onto another: select both and merge.
document.addEventListener("dragstart", e => { const c = e.target.closest(".card"); if (c) e.dataTransfer.setData("text/plain", c.dataset.id); });
document.addEventListener("dragover", e => { if (e.target.closest(".card")) e.preventDefault(); });
document.addEventListener("drop", e => {
  const target = e.target.closest(".card");
  const source = e.dataTransfer.getData("text/plain");
  if (!target || !source || source === target.dataset.id) return;
  e.preventDefault();
  selected = new Set([target.dataset.id, source]);
  run("merge-selected");
});

function pair() {   // the two coders the Consensus view settles
  return [view.querySelector("#coder-a").value, view.querySelector("#coder-b").value];
}

function focusedItem() { return document.activeElement && document.activeElement.closest(".item"); }

function moveFocus(step) {
  const items = [...view.querySelectorAll(".item")];
  if (!items.length) return;
  const i = items.indexOf(focusedItem());
  items[Math.max(0, Math.min(items.length - 1, i < 0 ? 0 : i + step))].focus();
}

function press(item, action) {
  const button = item && item.querySelector(`[data-action="${action}"]`);
  if (button) run(action, button);
}

document.addEventListener("keydown", event => {
  if (event.target.matches("input, textarea, select") || document.querySelector("dialog[open]")) return;
  const key = event.key, item = focusedItem();
  const ctrl = event.ctrlKey || event.metaKey;
  if ((ctrl && key.toLowerCase() === "z" && !event.shiftKey) || (!ctrl && key === "u")) return run("undo");
  if ((ctrl && (key.toLowerCase() === "y" || (key.toLowerCase() === "z" && event.shiftKey))) || (!ctrl && key === "U")) return run("redo");
  if (ctrl || event.altKey) return;
  const views = {"1": "candidates", "2": "codebook", "3": "suggestions", "4": "consensus", "5": "log"};
  if (views[key]) return show(views[key]);
  if (key === "j" || key === "ArrowDown") { event.preventDefault(); return moveFocus(1); }
  if (key === "k" || key === "ArrowUp") { event.preventDefault(); return moveFocus(-1); }
  if (key === "?") return document.getElementById("help").showModal();
  if (key === "m") return run("merge-selected");
  if (key === "x" && item) { const box = item.querySelector(".pick-box"); if (box) { box.checked = !box.checked; box.dispatchEvent(new Event("change", {bubbles: true})); } return; }
  const inSuggestions = current.name === "suggestions";
  const map = {a: inSuggestions ? "accept-suggestion" : "accept", d: inSuggestions ? "reject-suggestion" : "reject",
               r: "rename", s: "split", o: "open", Enter: "open"};
  if (map[key] && item) { event.preventDefault(); press(item, map[key]); }
});

window.addEventListener("focus", () => refresh());  // decisions made in the CLI or another tab show up
show((location.hash || "#candidates").slice(1).split("?")[0] || "candidates");
