"""Use cases of the archive: schedules, holds, two-person disposal, destruction certificates, fixity,
registers, monthly reports, audit heads and their log (no aiohttp; domain errors in ``errors``)."""
