"""The composition root: the `pvcontrol` command, the whole configuration (`Settings`), `pvcontrol all`
and `ha-cleanup`. It imports the core (`pvcontrol`) and the services (`services`); neither imports it
(except `python -m pvcontrol`, a script entry)."""
