"""Models of the contracts app arrive with their issue (see `issues`); the app exists now so that
the layout, URLs and migrations are in place from the start."""
