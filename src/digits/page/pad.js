// The drawing pad: strokes as MNIST's pens made them, read by the server as you draw.
"use strict";
const pad = document.getElementById("pad");
const pen = pad.getContext("2d");
const seen = document.getElementById("seen").getContext("2d");
const READ_AFTER_MS = 150;  // debounce: read once the pen pauses, never lag behind it
let drawing = false, drawn = false, timer = null, asked = 0;

function clearPad() {
  pen.fillStyle = "#fff";
  pen.fillRect(0, 0, pad.width, pad.height);
  drawn = false;
  show(null);
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
}

pad.addEventListener("pointerdown", (event) => {
  drawing = true;
  pad.setPointerCapture(event.pointerId);
  const [x, y] = point(event);
  pen.beginPath();
  pen.moveTo(x, y);
  pen.lineTo(x, y);
  pen.stroke();
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const [x, y] = point(event);
  pen.lineTo(x, y);
  pen.stroke();
  drawn = true;
  readSoon();
});
for (const name of ["pointerup", "pointercancel"]) {
  pad.addEventListener(name, () => { if (drawing) { drawing = false; drawn = true; readSoon(); } });
}

function readSoon() {
  clearTimeout(timer);
  timer = setTimeout(() => pad.toBlob((blob) => read(blob)), READ_AFTER_MS);
}

async function read(blob) {
  const ticket = ++asked;  // only the newest answer is shown
  const response = await fetch("/api/predict?pixels", { method: "POST", body: blob });
  const answer = await response.json();
  if (ticket === asked) show(answer, response.ok);
}

function show(answer, ok = true) {
  const digit = document.getElementById("digit");
  const confidence = document.getElementById("confidence");
  const bars = document.getElementById("bars");
  bars.replaceChildren();
  seen.fillStyle = "#fff";
  seen.fillRect(0, 0, 168, 168);
  confidence.className = "";
  if (!answer) { digit.textContent = "?"; confidence.textContent = "Draw a digit"; return; }
  const none = ok && answer.not_a_digit;  // writing, but none of 0–9
  if (!ok || (answer.digit === null && !none)) {
    digit.textContent = "–";
    confidence.textContent = answer.error || "no digit found";
    return;
  }
  digit.textContent = none ? "✗" : String(answer.digit);
  confidence.textContent = (none ? "not a digit, " : "") + `${(answer.confidence * 100).toFixed(1)}%` +
    (answer.unsure ? " — unsure" : "");
  if (answer.unsure) confidence.className = "unsure";
  answer.probabilities.forEach((p, d) => {
    const row = document.createElement("li");
    if (none ? d === 10 : d === answer.digit) row.className = "top";
    row.innerHTML = `<span>${d < 10 ? d : "✗"}</span><span class="bar"><span style="width:${(p * 100).toFixed(1)}%"></span></span>` +
      `<span>${(p * 100).toFixed(1)}%</span>`;
    bars.append(row);
  });
  const size = answer.pixels.length, cell = 168 / size;
  answer.pixels.forEach((row, y) => row.forEach((value, x) => {
    const level = 255 - value;
    seen.fillStyle = `rgb(${level},${level},${level})`;
    seen.fillRect(x * cell, y * cell, cell, cell);
  }));
}

function readFile(file) {
  if (!file || !file.type.startsWith("image/")) return;
  clearPad();
  read(file);
}

document.getElementById("clear").addEventListener("click", clearPad);
document.getElementById("file").addEventListener("change", (event) => readFile(event.target.files[0]));
document.addEventListener("keydown", (event) => { if (event.key === "Escape") clearPad(); });
document.addEventListener("dragover", (event) => event.preventDefault());
document.addEventListener("drop", (event) => { event.preventDefault(); readFile(event.dataTransfer.files[0]); });
document.addEventListener("paste", (event) => readFile([...event.clipboardData.files][0]));

fetch("/api/model").then((r) => r.json()).then((model) => {
  const m = model.metrics || {};
  const accuracy = m.val_accuracy ? `, ${(m.val_accuracy * 100).toFixed(2)}% on its validation images` : "";
  document.getElementById("model").textContent =
    `${model.checkpoint.split("/").pop()}: a ${model.layer_sizes.join("-")} network of ` +
    (model.layer_sizes.length > 2 ? "Linear+ReLU layers, " : "one Linear layer (a linear classifier), ") +
    `${model.parameters.toLocaleString()} parameters${accuracy}`;
});

pen.lineWidth = 20;  // about a tenth of the digit's height, as MNIST's strokes
pen.lineCap = "round";
pen.lineJoin = "round";
pen.strokeStyle = "#000";
clearPad();
