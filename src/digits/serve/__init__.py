"""`digits serve`: the HTTP server and its JSON API over `digits.read`, the network view it sends, and
static/, the browser page's HTML, CSS and JavaScript."""
