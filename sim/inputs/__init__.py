"""What goes into a run: scenarios, levers, parameters, shocks, the plan, observed data, the
YAML reader, result tables read back, errors and where the data lives."""
