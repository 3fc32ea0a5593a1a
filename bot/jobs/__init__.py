"""Durable work (SPEC §11): the job registry the features fill, the effects a job records so a
rerun skips them, and the two ways jobs run — procrastinate's queue and workers on PostgreSQL
(``bot.jobs.pg``), the same job functions in-process on SQLite (``bot.jobs.local``)."""
