"""Background work: the scheduler and its explicit list of jobs, the sealer, the push worker."""
