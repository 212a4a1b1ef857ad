// The answer card: what the model read, in one sentence for screen readers too, and the 28×28
// matrix it read; for a number, each mark's box drawn over the pad.
"use strict";

const LABEL_PX = 12;  // a box's label on the screen, at the least: legible on a phone

const digit = document.getElementById("digit");
const confidence = document.getElementById("confidence");
const status = document.getElementById("status");
const seen = document.getElementById("seen").getContext("2d");
const label = document.getElementById("label");
const save = document.getElementById("save");
const boxes = document.getElementById("boxes");
const marks = document.getElementById("marks");

const percent = (p) => `${(p * 100).toFixed(1)}%`;

function say(big, line, sentence, kind = "") {
  digit.textContent = big;
  digit.className = big.length > 2 ? "long" : "";
  confidence.textContent = line;
  confidence.className = kind;
  status.textContent = sentence;
}

function clearSeen() {
  seen.fillStyle = "#fff";
  seen.fillRect(0, 0, seen.canvas.width, seen.canvas.height);
}

export function clearBoxes() {
  boxes.getContext("2d").clearRect(0, 0, boxes.width, boxes.height);
}

export function showEmpty(mode) {
  say("?", mode === "number" ? "Write a number" : "Draw a digit", "");
  clearSeen();
  clearBoxes();
  clearMarks();
  save.disabled = true;
}

function clearMarks() {
  marks.replaceChildren();
  delete document.body.dataset.chosen;
}

export function showReading() {
  confidence.textContent = "reading…";
  confidence.className = "busy";
}

export function showUnreachable() {
  say("", "Server not reachable (retrying)", "Server not reachable; retrying", "error");
}

export function showError(message) {
  say("", message, message, "error");
  clearSeen();
  clearBoxes();
  clearMarks();
}

export function showDigit(answer) {
  if (answer.digit === null && !answer.not_a_digit) return showError(answer.error);
  const sure = percent(answer.confidence);
  if (answer.not_a_digit && answer.unsure) {
    say("✗", `unsure: probably not a digit, ${sure}`, `Unsure: probably not a digit, ${sure}`, "unsure");
  } else if (answer.not_a_digit) {
    say("✗", `not a digit, ${sure}`, `Not a digit, ${sure} sure`);
  } else {
    const unsure = answer.unsure ? ": unsure" : "";
    say(String(answer.digit), `${sure}${answer.unsure ? " — unsure" : ""}`, `Read ${answer.digit}, ${sure} sure${unsure}`,
      answer.unsure ? "unsure" : "");
  }
  showSeen(answer.pixels);
  if (!answer.not_a_digit) label.value = String(answer.digit);
  save.disabled = false;
}

function showSeen(pixels) {
  const size = pixels.length, cell = seen.canvas.width / size;
  pixels.forEach((row, y) => row.forEach((value, x) => {
    const level = 255 - value;
    seen.fillStyle = `rgb(${level},${level},${level})`;
    seen.fillRect(x * cell, y * cell, cell, cell);
  }));
}

// A button per mark the network read (`/api/read?explain`), with its confidence: chosen, the mark's
// 28×28 view shows, and `choose(mark)` shows it inside the network.
function showMarks(read, choose) {
  marks.replaceChildren(...read.map((mark, i) => {
    const button = document.createElement("button");
    button.type = "button";
    const shown = mark.kind === "not a digit" ? "✗" : mark.text;
    const sure = `${Math.round(mark.confidence * 100)}%`;
    button.innerHTML = `<b>${shown}</b> ${sure}`;
    button.setAttribute("aria-label", `Mark ${i + 1}, read as ${mark.kind === "not a digit" ? "not a digit" : mark.text}, ` +
      `${sure} sure: show it inside the network`);
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", () => {
      for (const other of marks.children) other.setAttribute("aria-pressed", String(other === button));
      document.body.dataset.chosen = String(i + 1);
      showSeen(mark.pixels);
      choose(mark);
    });
    return button;
  }));
}

// `fit` maps the picture's pixels to the pad's: {scale, dx, dy}; `choose(mark)` shows a mark inside the network.
export function showNumber(answer, fit, choose) {
  clearSeen();
  clearBoxes();
  showMarks(answer.digits.filter((mark) => mark.pixels), choose);
  const pen = boxes.getContext("2d");
  pen.lineWidth = 2;
  // the pad is drawn at 840 pixels and shown at the screen's width: the labels' size is set on the screen
  const px = Math.max(16, Math.ceil(LABEL_PX * boxes.width / boxes.getBoundingClientRect().width));
  pen.font = `bold ${px}px system-ui, sans-serif`;
  for (const mark of answer.digits) {
    const [left, top, right, bottom] = mark.box.map((v, i) => v * fit.scale + (i % 2 ? fit.dy : fit.dx));
    pen.strokeStyle = pen.fillStyle = mark.kind === "digit" ? (mark.unsure ? "#8a4b00" : "#1a56db") : "#777";
    pen.strokeRect(left, top, right - left, bottom - top);
    pen.fillText(mark.kind === "not a digit" ? "✗" : mark.text.slice(0, 12), left + 2, Math.max(px - 2, top - 4));
    if (mark.kind === "digit") {  // its confidence under it, where the next box's label cannot run into it
      const sure = `${Math.round(mark.confidence * 100)}%`;
      pen.fillText(sure, left + 2, Math.min(boxes.height - 2, bottom + px));
    }
  }
  if (answer.number === null) return showError(answer.error);
  const read = answer.digits.filter((mark) => mark.kind === "digit");
  const least = Math.min(...read.map((mark) => mark.confidence));
  const unsure = read.some((mark) => mark.unsure);
  const runnerUp = answer.runner_up ? ` (or ${answer.runner_up})` : "";
  say(answer.number, `${read.length} digit${read.length === 1 ? "" : "s"}, the least sure ${percent(least)}` +
    (unsure ? " — unsure" : "") + (answer.runner_up ? `, or ${answer.runner_up}` : ""),
    `Read the number ${answer.number}${unsure ? ", unsure" : ""}${runnerUp}`, unsure ? "unsure" : "");
}

export function labelChoices(classes) {
  label.replaceChildren(...classes.filter((name) => /^\d$/.test(name)).map((name) => new Option(name, name)));
}
