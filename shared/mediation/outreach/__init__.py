"""Outreach (法治宣传, 公益微课), residents' opinions (民意) and the grid self-governance
office's duty rota (三长之家)."""
