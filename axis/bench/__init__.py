"""The built-in load benchmark (`axis bench`).

A real ``axis serve`` runs in a subprocess on a fresh database (:mod:`axis.bench.server`);
a separate load process (:mod:`axis.bench.load`) signs every message before the clock
starts and then drives the server over loopback HTTP (:mod:`axis.bench.scenarios`);
:mod:`axis.bench.scale` fills the archive with synthetic messages and times the queries
clerks and archivists run; :mod:`axis.bench.report` turns the samples into figures.
"""
