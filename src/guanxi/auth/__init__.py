"""Users, teams, roles as data, sessions, API tokens and record visibility."""
