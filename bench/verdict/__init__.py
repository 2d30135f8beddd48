"""The verdict (docs/verdict.md): a preregistered manifest of claims and the sweeps that test them
(manifest), the rule from records to reproduced / refuted / inconclusive / pending (evidence), the
generated documents (render), the compute plan (plan) and the command's actions (generate)."""
