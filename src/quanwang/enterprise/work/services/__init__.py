"""Services of the enterprise work part: grades of account managers, the visit plan, visit
logs, portfolios and appraisal facts."""
