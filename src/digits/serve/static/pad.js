// The drawing pad: strokes as MNIST's pens made them, read by the server as you draw; a photo
// dropped, pasted or picked; past drawings in a strip; a drawing kept as a PNG.
"use strict";
import { clearBoxes, labelChoices, showDigit, showEmpty, showError, showNumber, showReading, showUnreachable }
  from "./answer.js";
import { clearNetwork, setUpNetwork, showNetwork } from "./network.js";
import { canvasPicture, cancelRead, fitted, getJson, read } from "./server.js";

const READ_AFTER_MS = 150;  // debounce: read once the pen pauses, never lag behind it
// A pen's width as a share of the pad's height: thick is MNIST's stroke, about a tenth of a digit
// that fills the pad; thin keeps a small digit from closing up into a blot.
const PEN_SHARE = { thick: 1 / 14, thin: 1 / 28 };
const TAP_PX = 2;  // a stroke that moves less is a tap: a dot in a number, nothing in a digit
const STRIP_LENGTH = 12;  // past drawings kept
const SIDES = { digit: [280, 280], number: [840, 280] };  // the pad's pixels; CSS scales it to the screen
const IMAGE_FILE = /\.(png|jpe?g|gif|bmp|webp|tiff?|heic|heif|avif)$/i;

const pad = document.getElementById("pad");
const boxes = document.getElementById("boxes");
const pen = pad.getContext("2d");
const message = document.getElementById("message");
const undoButton = document.getElementById("undo");
const penButton = document.getElementById("pen");

let mode = "digit";
let strokes = [];  // the drawing: each {width, points: [[x, y], …]}
let stroke = null;  // the stroke being drawn
let photo = null;  // a photo on the pad: {file, bitmap, left, top, scale}
let latest = null;  // what the drawing on the pad was read as, {ok, answer, fit}; null until it is read
let onPad = null;  // the strip's item brought back onto the pad, while the pad still holds it unchanged
let thin = false;
let timer = null;
let limits = { read_side: 2560, body_bytes: 10 * 2 ** 20, max_pixels: 24e6 };  // until the server says its own

function redraw() {
  pen.fillStyle = "#fff";
  pen.fillRect(0, 0, pad.width, pad.height);
  if (photo) {
    const { bitmap, left, top, scale } = photo;
    pen.drawImage(bitmap, left, top, bitmap.width * scale, bitmap.height * scale);
  }
  for (const each of strokes) drawStroke(each);
  undoButton.disabled = strokes.length === 0;
}

function drawStroke({ width, points }) {
  pen.lineWidth = width;
  pen.beginPath();
  pen.moveTo(...points[0]);
  for (const p of points.length > 1 ? points.slice(1) : points) pen.lineTo(...p);
  pen.stroke();
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
}

function moved({ points }) {
  const [x0, y0] = points[0];
  return points.some(([x, y]) => Math.hypot(x - x0, y - y0) >= TAP_PX);
}

pad.addEventListener("pointerdown", (event) => {
  if (event.button !== 0 || !event.isPrimary) return;  // only the primary button, finger or pen draws
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  stroke = { width: pad.height * (thin ? PEN_SHARE.thin : PEN_SHARE.thick), points: [point(event)] };
});
pad.addEventListener("pointermove", (event) => {
  if (!stroke || !event.isPrimary) return;
  const wasTap = !moved(stroke);
  stroke.points.push(point(event));
  if (!moved(stroke)) return;
  if (wasTap) drawingChanged();  // from here: its last reading no longer holds
  drawStroke({ width: stroke.width, points: stroke.points.slice(-2) });
  readSoon();
});
for (const name of ["pointerup", "pointercancel"]) {
  pad.addEventListener(name, (event) => {
    if (!stroke || !event.isPrimary) return;
    const ended = stroke;
    stroke = null;
    if (!moved(ended) && mode === "digit") return;  // a tap: nothing drawn, nothing read
    if (!moved(ended)) drawingChanged();
    strokes.push(ended);
    redraw();
    readSoon();
  });
}

function drawingChanged() {
  changed();
  latest = null;
  unmark();
}

function changed() {
  message.textContent = "";
  clearTimeout(timer);
  cancelRead();
}

function readSoon() {
  clearTimeout(timer);
  if (strokes.length === 0 && !stroke && !photo) return showBlank();
  timer = setTimeout(async () => {
    const result = await send(canvasPicture(pad), "your drawing", { scale: 1, dx: 0, dy: 0 });
    if (result && !result.ok) show(result);
  }, READ_AFTER_MS);
}

function showBlank() {
  cancelRead();
  latest = null;
  showEmpty(mode);
  clearNetwork();
}

function show({ ok, answer, fit }) {
  if (!ok) {
    showError(answer.error);
    clearNetwork();
  } else if (mode === "digit") {
    showDigit(answer);
    showNetwork(answer);
  } else {
    clearNetwork();
    showNumber(answer, fit, (mark) => showNetwork({ ...mark, not_a_digit: mark.kind === "not a digit" }));
  }
}

// Reads `blob` as the file `name`; `fit` maps the picture's pixels to the pad's. The answer shown
// is the newest one asked for: a read is cancelled by a newer one, by a stroke, and by Clear.
async function send(blob, name, fit) {
  showReading();
  const result = await read(mode === "digit" ? "/api/predict?explain" : "/api/read?explain", blob, name, showUnreachable);
  if (result?.ok) {
    latest = { ...result, fit };
    show(latest);
  }
  return result;
}

// The drawing on the pad, kept in the strip with what it was read as, even when it was not read yet
// (cleared, or the mode switched, while its read was in flight): brought back, it is read again.
function keep(reading) {
  if (!strokes.length && !photo) return;
  const strip = document.getElementById("strip");
  if (onPad) {  // brought back from the strip and left as it was: it goes back to the front, once,
    if (reading?.ok) onPad.latest = reading;  // with the reading it got on the pad (brought back unread, say)
    label(onPad);
    strip.prepend(onPad.entry);
    unmark();
    return;
  }
  const item = { mode, strokes, photo, latest: reading?.ok ? reading : null, picture: pad.toDataURL() };
  const button = document.createElement("button");
  button.type = "button";
  const image = new Image();
  image.src = item.picture;
  image.alt = "";
  button.append(image, document.createElement("span"));
  button.addEventListener("click", () => restore(item));
  item.entry = document.createElement("li");
  item.entry.append(button);
  label(item);
  strip.prepend(item.entry);
  while (strip.children.length > STRIP_LENGTH) strip.lastChild.remove();
  document.getElementById("strip-empty").hidden = true;
}

// A strip item's caption and what it says to a screen reader, from its reading.
function label(item) {
  const [shown, said] = readAs(item.latest?.answer, item.mode);
  const button = item.entry.firstElementChild;
  button.lastElementChild.textContent = shown;
  button.setAttribute("aria-label", `Bring back the drawing ${said}`);
}

// What a strip item shows, and what it says, for a reading in `mode` (none: not read yet).
function readAs(answer, mode) {
  if (!answer) return ["…", "not read yet"];
  if (mode === "number") return answer.number === null ? ["–", "read as no number"] : [answer.number, `read as ${answer.number}`];
  if (answer.not_a_digit) return ["✗", "read as not a digit"];
  if (answer.digit === null) return ["–", "read as no digit"];
  const shown = `${answer.digit} (${(answer.confidence * 100).toFixed(0)}%)`;
  return [shown, `read as ${shown}`];
}

function unmark() {
  onPad?.entry.removeAttribute("aria-current");
  onPad = null;
}

function clear() {
  keep(latest);
  changed();
  strokes = [];
  photo = null;
  latest = null;
  redraw();
  showBlank();
}

function restore(item) {
  clear();
  setMode(item.mode);
  strokes = item.strokes;
  photo = item.photo;
  redraw();
  onPad = item;
  item.entry.setAttribute("aria-current", "true");  // marked in the strip while it is on the pad
  latest = item.latest;
  if (latest) show(latest); else readSoon();
}

function undo() {
  if (!strokes.length) return;
  drawingChanged();
  strokes = strokes.slice(0, -1);
  redraw();
  readSoon();
}

// A photo on the pad is read again in the new mode; a drawing, made for the other pad's shape,
// goes to the strip.
function setMode(wanted) {
  if (wanted === mode) return;
  const again = photo?.file;
  clear();
  mode = wanted;
  document.body.dataset.mode = mode;
  [pad.width, pad.height] = [boxes.width, boxes.height] = SIDES[mode];
  pad.setAttribute("aria-label", mode === "digit"
    ? "Drawing pad: draw one digit with the mouse, a finger or a pen"
    : "Wide drawing pad: write a number, digits side by side, with the mouse, a finger or a pen");
  for (const name of ["digit", "number"]) {
    document.getElementById(`mode-${name}`).setAttribute("aria-pressed", String(name === mode));
  }
  setUpPen();
  redraw();
  showBlank();
  if (again) readFile(again);
}

function isImage(file) {
  return file.type ? file.type.startsWith("image/") : IMAGE_FILE.test(file.name);
}

// A photo is read as the person took it; the pad shows it, fitted, once the server has read it.
// A file that is not an image, or that the server cannot read, leaves the drawing as it was.
async function readFile(file) {
  if (!file) return;
  if (!isImage(file)) {
    message.textContent = `${file.name || "That"} is not an image: pick a photo or a scan (PNG, JPEG, WebP…).`;
    return;
  }
  if (file.size === 0) {
    message.textContent = `${file.name || "That file"} is empty (0 bytes): pick a photo or a scan.`;
    return;
  }
  changed();
  const before = latest;  // the drawing's own reading, for the strip: the photo's is about to replace it
  const { blob, bitmap, shrunk } = await fitted(file, limits);
  const scale = bitmap ? Math.min(pad.width / bitmap.width, pad.height / bitmap.height) : 1;
  const left = bitmap ? (pad.width - bitmap.width * scale) / 2 : 0;
  const top = bitmap ? (pad.height - bitmap.height * scale) / 2 : 0;
  const result = await send(blob, file.name || "pasted image", { scale: scale / shrunk, dx: left, dy: top });
  if (!result) return;
  if (!result.ok || !bitmap) {  // the drawing stays on the pad; the answer card says what went wrong
    const error = result.answer.error || `${file.name}: the server could not read it`;
    message.textContent = `${error}. The drawing on the pad is as it was.`;
    showError(error);
    clearNetwork();
    return;
  }
  const answer = latest;
  keep(before);
  unmark();
  strokes = [];
  photo = { file, bitmap, left, top, scale };
  redraw();
  latest = answer;
  show(latest);
}

function setUpPen() {
  pen.lineCap = "round";
  pen.lineJoin = "round";
  pen.strokeStyle = "#000";
}

function savePicture() {
  const digit = document.getElementById("label").value;
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(canvasPicture(pad));
  link.download = `${digit}-${stamp}.png`;  // the digit first: files sort into its folder at a glance
  link.click();
  URL.revokeObjectURL(link.href);
}

document.getElementById("clear").addEventListener("click", clear);
undoButton.addEventListener("click", undo);
penButton.addEventListener("click", () => {
  thin = !thin;
  penButton.setAttribute("aria-pressed", String(thin));
});
document.getElementById("mode-digit").addEventListener("click", () => setMode("digit"));
document.getElementById("mode-number").addEventListener("click", () => setMode("number"));
document.getElementById("save").addEventListener("click", savePicture);
document.getElementById("file").addEventListener("change", (event) => {
  readFile(event.target.files[0]);
  event.target.value = "";  // picking the same file again is a new pick
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") clear();
  if (event.key === "z" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); undo(); }
});
document.addEventListener("dragover", (event) => event.preventDefault());
document.addEventListener("drop", (event) => {
  event.preventDefault();
  const file = event.dataTransfer.files[0];
  if (file) readFile(file); else message.textContent = "Only an image file can be dropped here.";
});
document.addEventListener("paste", (event) => {
  const file = [...event.clipboardData.files][0];
  if (file) readFile(file);
});

document.getElementById("model").textContent = "loading the model…";
getJson("/api/model", () => {
  document.getElementById("model").textContent = "Server not reachable (retrying)";
}).then((model) => {
  const m = model.metrics || {};
  const accuracy = m.val_accuracy ? `, ${(m.val_accuracy * 100).toFixed(2)}% on its validation images` : "";
  document.getElementById("model").textContent =
    `${model.checkpoint}: ` +
    (model.networks > 1 ? `a committee of ${model.networks} ${model.layer_sizes.join("-")} networks of ` :
      `a ${model.layer_sizes.join("-")} network of `) +
    (model.layer_sizes.length > 2 ? "Linear+ReLU layers, " : "one Linear layer (a linear classifier), ") +
    `${model.parameters.toLocaleString()} parameters${accuracy}`;
  limits = model.limits;
  labelChoices(model.classes);
  setUpNetwork(model);
});

document.body.dataset.mode = mode;
setUpPen();
redraw();
clearBoxes();
showEmpty(mode);
