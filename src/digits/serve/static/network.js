// Inside the network as you draw: a grid per hidden layer with a cell per unit lit by its
// activation, the outputs before and after softmax, and first-layer units' weights as tiles.
"use strict";

const COLUMNS = 40;  // cells a row of a layer's grid: 1,500 units make 38 rows, 240 px wide
const CELL = 6;  // px a side: small enough for 1,500 units, large enough to point at one
const TILE = 56;  // px a side of a unit's tile in the row of those that fire most
const UNLIT = "#1d1d1d";

const layersBox = document.getElementById("layers");
const bars = document.getElementById("bars");
const units = document.getElementById("units");
const unitTile = document.getElementById("unit-tile");
const unitCaption = document.getElementById("unit-caption");
const unitsTitle = document.getElementById("units-title");

let model = null;
let atlas = null;  // the first layer's weights, one tile per unit (GET /api/weights.png)
let grids = [];  // per hidden layer: {canvas, caption, units}
let current = null;  // the network part of the latest reading
let pointed = null;  // the first-layer unit whose tile shows

function lit(share) {
  return share <= 0 ? UNLIT : `hsl(45, 100%, ${Math.round(25 + 55 * share)}%)`;
}

function drawGrid(grid, values) {
  const pen = grid.canvas.getContext("2d");
  const top = values ? Math.max(...values) : 0;
  for (let unit = 0; unit < grid.units; unit++) {
    pen.fillStyle = lit(values && top > 0 ? values[unit] / top : 0);
    pen.fillRect((unit % COLUMNS) * CELL, Math.floor(unit / COLUMNS) * CELL, CELL - 1, CELL - 1);
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

const hidden = () => model.layer_sizes.length > 2;

function unitName(unit) {
  return hidden() ? `unit ${unit} of layer 1` : `the template of ${model.classes[unit]}`;
}

function point(unit) {
  pointed = unit;
  drawTile(unitTile, unit);
  if (unit === null) {
    unitCaption.textContent = "Point at a unit, or focus one, to see its weights.";
    return;
  }
  const values = hidden() ? current?.layers[0].activations : current?.scores;
  const value = values ? `: ${hidden() ? "activation" : "score"} ${values[unit].toFixed(2)} for this drawing` : "";
  unitCaption.textContent = `${unitName(unit)}${value}`;
}

function gridFigure(layer, size) {
  const figure = document.createElement("figure");
  const canvas = document.createElement("canvas");
  canvas.width = COLUMNS * CELL;
  canvas.height = Math.ceil(size / COLUMNS) * CELL;
  canvas.setAttribute("aria-hidden", "true");
  const caption = document.createElement("figcaption");
  figure.append(canvas, caption);
  const grid = { canvas, caption, units: size, layer };
  if (layer === 1) {
    canvas.addEventListener("pointermove", (event) => {
      const box = canvas.getBoundingClientRect();
      const column = Math.floor((event.clientX - box.left) * canvas.width / box.width / CELL);
      const row = Math.floor((event.clientY - box.top) * canvas.height / box.height / CELL);
      const unit = row * COLUMNS + column;
      if (column < COLUMNS && unit < size && unit !== pointed) point(unit);
    });
  }
  return { figure, grid };
}

// Builds the empty view for the model `GET /api/model` describes.
export function setUpNetwork(described) {
  model = described;
  atlas = new Image();
  atlas.addEventListener("load", () => point(pointed));
  atlas.src = model.weight_tiles.url;
  const sizes = model.layer_sizes.slice(1, -1);
  const figures = sizes.map((size, i) => gridFigure(i + 1, size));
  grids = figures.map(({ grid }) => grid);
  document.getElementById("network-hint").hidden = !sizes.length;
  if (!sizes.length) {
    const note = document.createElement("p");
    note.className = "hint";
    note.textContent = "No hidden layers: this linear classifier goes from the 784 pixels straight to the scores.";
    layersBox.replaceChildren(note);
    unitsTitle.textContent = "Its class templates, by score";
  } else {
    layersBox.replaceChildren(...figures.map(({ figure }) => figure));
  }
  const note = document.getElementById("committee-note");  // a committee averages its networks; one is drawn
  note.hidden = !(model.networks > 1);
  note.textContent = `This model is a committee of ${model.networks} networks of this shape, trained apart; ` +
    "its answer averages their probabilities. The first network's layers and scores are shown; the " +
    "probabilities are the committee's.";
  clearNetwork();
}

function unitButton(unit) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "unit";
  button.setAttribute("aria-label", unitName(unit));
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = TILE;
  drawTile(canvas, unit);
  button.append(canvas);
  for (const name of ["pointerenter", "focus"]) button.addEventListener(name, () => point(unit));
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
    return row;
  }));
}

export function clearNetwork() {
  current = null;
  for (const grid of grids) {
    drawGrid(grid, null);
    grid.caption.textContent = `Layer ${grid.layer}: ${grid.units.toLocaleString()} ReLUs`;
  }
  showOutputs(null, null);
  units.replaceChildren();
  point(null);
}

// Lights the view for a reading of `POST /api/predict?explain`.
export function showNetwork(answer) {
  if (!answer.network) return clearNetwork();
  current = answer.network;
  current.layers.forEach((layer, i) => {
    drawGrid(grids[i], layer.activations);
    const share = Math.round((100 * layer.fired) / layer.units);
    grids[i].caption.textContent =
      `Layer ${i + 1}: ${layer.fired.toLocaleString()} of ${layer.units.toLocaleString()} ReLUs fired (${share}%)`;
  });
  showOutputs(current.scores, answer.probabilities);
  const chosen = model.classes.indexOf(answer.not_a_digit ? "not a digit" : String(answer.digit));
  bars.children[chosen]?.classList.add("top");
  units.replaceChildren(...current.top_units.map(unitButton));
  point(current.top_units[0] ?? null);
}
