"""The directory (référentiel): offices and their tree, agents and their roles, reply templates,
routing rules, the application settings (the intake pause), and the directory import."""
