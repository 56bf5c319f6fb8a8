"""De-identification (HIPAA Safe Harbor): the rule engine, its scorer on labelled PHI sets and
its word lists."""
