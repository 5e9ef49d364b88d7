"""The reliability suite (issue 10): each probe attacks a running stack and the table says what held."""
