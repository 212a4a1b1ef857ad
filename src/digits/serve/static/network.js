// Inside the network as you draw: a grid per hidden layer with a cell per unit lit by its
// activation, the outputs before and after softmax, lines along the links that carried most of the
// answer, and any unit, pointed at or reached by keyboard, traced to what feeds it and what it feeds.
"use strict";

const COLUMNS = 40;  // cells a row of a layer's grid: 1,500 units make 38 rows, 240 px wide
const CELL = 6;  // px a side: small enough for 1,500 units, large enough to point at one
const TILE = 56;  // px a side of a unit's tile in the row of those that fire most
const UNLIT = "#1d1d1d";
const TRACE_AFTER_MS = 60;  // a pointer sweeping across a grid asks for the unit it rests on, not every one it crosses
const SVG = "http://www.w3.org/2000/svg";

const network = document.getElementById("network");
const layersBox = document.getElementById("layers");
const bars = document.getElementById("bars");
const units = document.getElementById("units");
const unitTile = document.getElementById("unit-tile");
const unitCaption = document.getElementById("unit-caption");
const unitsTitle = document.getElementById("units-title");
const fedBy = document.getElementById("fed-by");
const feeds = document.getElementById("feeds");
const paths = document.getElementById("paths");

let model = null;
let atlas = null;  // the first layer's weights, one tile per unit (GET /api/weights.png)
let grids = [];  // per hidden layer: {canvas, caption, units, layer, values}
let current = null;  // the network part of the latest reading, and the matrix it read (`pixels`)
let pointed = null;  // {layer, unit}: the unit traced; the outputs are the layer after the last hidden one
let asked = 0;  // the newest trace asked for: an older answer arriving late is dropped
let timer = null;

function lit(share) {
  return share <= 0 ? UNLIT : `hsl(45, 100%, ${Math.round(25 + 55 * share)}%)`;
}

function drawGrid(grid) {
  const pen = grid.canvas.getContext("2d");
  const values = grid.values;
  const top = values ? Math.max(...values) : 0;
  pen.clearRect(0, 0, grid.canvas.width, grid.canvas.height);
  for (let unit = 0; unit < grid.units; unit++) {
    pen.fillStyle = lit(values && top > 0 ? values[unit] / top : 0);
    pen.fillRect((unit % COLUMNS) * CELL, Math.floor(unit / COLUMNS) * CELL, CELL - 1, CELL - 1);
  }
  if (pointed?.layer === grid.layer) {  // the traced unit, outlined
    pen.strokeStyle = "#4da3ff";
    pen.lineWidth = 2;
    pen.strokeRect((pointed.unit % COLUMNS) * CELL - 1, Math.floor(pointed.unit / COLUMNS) * CELL - 1, CELL + 1, CELL + 1);
  }
}

function drawTile(canvas, unit) {
  const pen = canvas.getContext("2d");
  pen.imageSmoothingEnabled = false;
  pen.fillStyle = "#f7f7f7";
  pen.fillRect(0, 0, canvas.width, canvas.height);
  if (!atlas?.complete || unit === null) return;
  const { columns, tile } = model.weight_tiles;
  pen.drawImage(atlas, (unit % columns) * tile, Math.floor(unit / columns) * tile, tile, tile,
    0, 0, canvas.width, canvas.height);
}

const hiddenLayers = () => model.layer_sizes.length - 2;
const outputLayer = () => hiddenLayers() + 1;

function unitName(layer, unit) {
  if (layer === 0) return `pixel (row ${Math.floor(unit / model.image_size) + 1}, column ${unit % model.image_size + 1})`;
  if (layer === outputLayer()) return `the output for ${model.classes[unit] === "not a digit" ? "✗ (not a digit)" : model.classes[unit]}`;
  return `unit ${unit} of layer ${layer}`;
}

function valueOf(layer, unit) {
  if (!current) return null;
  return layer === outputLayer() ? current.scores[unit] : current.layers[layer - 1].activations[unit];
}

// Traces `unit` of `layer` (null: none): outlines it, shows its weights' tile (first layer), and asks
// the server what feeds it and what it feeds for the drawing on show.
function point(layer, unit) {
  const before = pointed;
  pointed = unit === null ? null : { layer, unit };
  for (const grid of grids) if (grid.layer === before?.layer || grid.layer === layer) drawGrid(grid);
  for (const [i, row] of [...bars.children].entries()) row.classList.toggle("pointed", layer === outputLayer() && i === unit);
  const tiled = layer === 1 || (layer === outputLayer() && !hiddenLayers());  // its incoming weights are a picture
  unitTile.hidden = !tiled;
  drawTile(unitTile, tiled ? unit : null);
  fedBy.replaceChildren();
  feeds.replaceChildren();
  if (unit === null) {
    unitCaption.textContent = "Point at a unit of any layer, or Tab to a layer and move with the arrow keys, to trace it.";
    return;
  }
  const value = valueOf(layer, unit);
  const what = layer === outputLayer() ? "score" : "activation";
  unitCaption.textContent = `${unitName(layer, unit)}` + (value === null ? ": draw a digit to trace it" : `: ${what} ${value.toFixed(2)} for this drawing`);
  const slider = grids[layer - 1]?.canvas;
  if (slider && layer !== outputLayer()) {
    slider.setAttribute("aria-valuenow", String(unit));
    slider.setAttribute("aria-valuetext", unitCaption.textContent);
  }
  clearTimeout(timer);
  if (current) timer = setTimeout(() => trace(layer, unit), TRACE_AFTER_MS);
}

async function trace(layer, unit) {
  const mine = ++asked;
  let answer;
  try {
    const response = await fetch("/api/trace", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ pixels: current.pixels, layer, unit }),
    });
    answer = await response.json();
    if (!response.ok) throw new Error(answer.error);
  } catch (error) {
    if (mine === asked) unitCaption.textContent += ` (could not trace it: ${error.message})`;
    return;
  }
  if (mine !== asked || pointed?.layer !== layer || pointed?.unit !== unit) return;
  const from = layer - 1;  // 0: the pixels
  fedBy.replaceChildren(...answer.fed_by.map((link) =>
    linkItem(unitName(from, link.unit), link)));
  feeds.replaceChildren(...answer.feeds.map((link) => linkItem(unitName(layer + 1, link.unit), link)));
  if (!answer.feeds.length) feeds.append(note("nothing: an output's score goes to the softmax"));
}

function linkItem(name, link) {
  const item = document.createElement("li");
  const sign = link.contribution >= 0 ? "+" : "−";
  item.textContent = `${name}: weight ${link.weight.toFixed(3)}, brings ${sign}${Math.abs(link.contribution).toFixed(3)}`;
  item.className = link.contribution >= 0 ? "adds" : "takes";
  return item;
}

function note(text) {
  const item = document.createElement("li");
  item.textContent = text;
  return item;
}

// Keyboard: Tab reaches a layer, the arrow keys move from unit to unit (up and down a row of the grid).
function keyed(event, layer, size, columns) {
  const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns, Home: -size, End: size };
  if (!(event.key in moves)) return;
  event.preventDefault();
  const from = pointed?.layer === layer ? pointed.unit : 0;
  const unit = Math.min(size - 1, Math.max(0, from + moves[event.key]));
  if (layer === outputLayer()) bars.children[unit].focus();  // its focus traces it
  else point(layer, unit);
}

function gridFigure(layer, size) {
  const figure = document.createElement("figure");
  const canvas = document.createElement("canvas");
  canvas.width = COLUMNS * CELL;
  canvas.height = Math.ceil(size / COLUMNS) * CELL;
  canvas.tabIndex = 0;  // a slider over the layer's units: a screen reader says the unit the arrow keys reach
  canvas.setAttribute("role", "slider");
  canvas.setAttribute("aria-label", `Layer ${layer}: ${size.toLocaleString()} units. Arrow keys move from unit to unit.`);
  canvas.setAttribute("aria-valuemin", "0");
  canvas.setAttribute("aria-valuemax", String(size - 1));
  const caption = document.createElement("figcaption");
  figure.append(canvas, caption);
  const grid = { canvas, caption, units: size, layer, values: null };
  canvas.addEventListener("pointermove", (event) => {
    const box = canvas.getBoundingClientRect();
    const column = Math.floor((event.clientX - box.left) * canvas.width / box.width / CELL);
    const row = Math.floor((event.clientY - box.top) * canvas.height / box.height / CELL);
    const unit = row * COLUMNS + column;
    if (column < COLUMNS && unit < size && (pointed?.layer !== layer || pointed.unit !== unit)) point(layer, unit);
  });
  canvas.addEventListener("keydown", (event) => keyed(event, layer, size, COLUMNS));
  canvas.addEventListener("focus", () => {  // from the unit that fired most, where there is a drawing
    if (pointed?.layer === layer) return;
    const values = grid.values;
    point(layer, values ? values.indexOf(Math.max(...values)) : 0);
  });
  return { figure, grid };
}

// Builds the empty view for the model `GET /api/model` describes.
export function setUpNetwork(described) {
  model = described;
  atlas = new Image();
  atlas.addEventListener("load", () => {  // it may come after the first reading: its tiles are drawn again
    if (pointed) point(pointed.layer, pointed.unit);
    for (const canvas of units.querySelectorAll("canvas")) drawTile(canvas, Number(canvas.dataset.unit));
  });
  atlas.src = model.weight_tiles.url;
  const sizes = model.layer_sizes.slice(1, -1);
  const figures = sizes.map((size, i) => gridFigure(i + 1, size));
  grids = figures.map(({ grid }) => grid);
  document.getElementById("network-hint").hidden = !sizes.length;
  document.getElementById("legend").hidden = !sizes.length;
  if (!sizes.length) {
    const hint = document.createElement("p");
    hint.className = "hint";
    hint.textContent = "No hidden layers: this linear classifier goes from the 784 pixels straight to the scores.";
    layersBox.replaceChildren(hint);
    unitsTitle.textContent = "Its class templates, by score";
  } else {
    layersBox.replaceChildren(...figures.map(({ figure }) => figure));
  }
  const committee = document.getElementById("committee-note");  // a committee averages its networks; one is drawn
  committee.hidden = !(model.networks > 1);
  committee.textContent = `This model is a committee of ${model.networks} networks of this shape, trained apart; ` +
    "its answer averages their probabilities. The first network's layers, scores and links are shown; the " +
    "probabilities are the committee's.";
  bars.addEventListener("keydown", (event) => {
    if (event.target.closest("li")) keyed(event, outputLayer(), model.classes.length, 1);
  });
  new ResizeObserver(drawPaths).observe(network);
  clearNetwork();
}

function unitButton(unit) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "unit";
  button.setAttribute("aria-label", hiddenLayers() ? unitName(1, unit) : unitName(outputLayer(), unit));
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = TILE;
  canvas.dataset.unit = unit;
  drawTile(canvas, unit);
  button.append(canvas);
  for (const name of ["pointerenter", "focus"]) button.addEventListener(name, () => point(hiddenLayers() ? 1 : outputLayer(), unit));
  return button;
}

function showOutputs(scores, probabilities) {
  bars.replaceChildren(...model.classes.map((name, i) => {
    const row = document.createElement("li");
    const p = probabilities ? probabilities[i] : 0;
    const score = scores ? scores[i].toFixed(2) : "";
    const answer = name === "not a digit" ? '<span role="img" aria-label="not a digit">✗</span>' : name;
    const shown = probabilities ? `${(p * 100).toFixed(1)}%` : "";
    row.innerHTML = `<span>${answer}</span><span class="score" aria-label="score ${score}">${score}</span>` +
      `<span class="bar" role="meter" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${(p * 100).toFixed(1)}" ` +
      `aria-label="probability"><span style="width:${(p * 100).toFixed(1)}%"></span></span><span>${shown}</span>`;
    row.tabIndex = 0;
    for (const event of ["pointerenter", "focus"]) row.addEventListener(event, () => point(outputLayer(), i));
    return row;
  }));
}

// Where a unit's cell (or an output's row) is, in the network section's own pixels.
function place(layer, unit) {
  const frame = network.getBoundingClientRect();
  if (layer === outputLayer()) {
    const row = bars.children[unit]?.firstElementChild?.getBoundingClientRect();
    return row && [row.left - frame.left + row.width / 2, row.top - frame.top + row.height / 2];
  }
  const canvas = grids[layer - 1].canvas, box = canvas.getBoundingClientRect();
  const scale = box.width / canvas.width;
  return [box.left - frame.left + ((unit % COLUMNS) + 0.5) * CELL * scale,
    box.top - frame.top + (Math.floor(unit / COLUMNS) + 0.5) * CELL * scale];
}

// Lines along the links that carried the most of the answer, thicker for more.
function drawPaths() {
  paths.replaceChildren();
  if (!current?.paths?.length || !grids.length) return;
  const frame = network.getBoundingClientRect();
  paths.setAttribute("viewBox", `0 0 ${frame.width} ${frame.height}`);
  const strongest = Math.max(...current.paths.map((link) => link[3]));
  for (const [layer, from, to, carried] of current.paths) {
    const start = place(layer, from), end = place(layer + 1, to);
    if (!start || !end) continue;
    const line = document.createElementNS(SVG, "line");
    [["x1", start[0]], ["y1", start[1]], ["x2", end[0]], ["y2", end[1]]].forEach(([k, v]) => line.setAttribute(k, v.toFixed(1)));
    line.setAttribute("stroke-width", (0.75 + 2.5 * carried / strongest).toFixed(2));
    paths.append(line);
  }
}

export function clearNetwork() {
  current = null;
  for (const grid of grids) {
    grid.values = null;
    drawGrid(grid);
    grid.caption.textContent = `Layer ${grid.layer}: ${grid.units.toLocaleString()} ReLUs`;
  }
  showOutputs(null, null);
  units.replaceChildren();
  drawPaths();
  point(null, null);
}

// Lights the view for a reading of `POST /api/predict?explain` (or a digit of `/api/read?explain`).
export function showNetwork(answer) {
  if (!answer.network) return clearNetwork();
  current = { ...answer.network, pixels: answer.pixels };
  current.layers.forEach((layer, i) => {
    grids[i].values = layer.activations;
    drawGrid(grids[i]);
    const share = Math.round((100 * layer.fired) / layer.units);
    grids[i].caption.textContent =
      `Layer ${i + 1}: ${layer.fired.toLocaleString()} of ${layer.units.toLocaleString()} ReLUs fired (${share}%)`;
  });
  showOutputs(current.scores, answer.probabilities);
  const chosen = model.classes.indexOf(answer.not_a_digit ? "not a digit" : String(answer.digit));
  bars.children[chosen]?.classList.add("top");
  units.replaceChildren(...current.top_units.map(unitButton));
  drawPaths();
  const first = current.top_units[0];
  if (pointed) point(pointed.layer, pointed.unit);
  else point(first === undefined ? null : hiddenLayers() ? 1 : outputLayer(), first ?? null);
}
