"""The deployment rehearsal: template.yaml deployed offline as `sam deploy` would (README, "Rehearsing a deployment")."""
