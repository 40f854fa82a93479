"""The planner's workbench and report: intake tools, surveys, k frontier, 実施方針 report."""
