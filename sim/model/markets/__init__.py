"""Markets by what is exchanged: talent, capital, technology. Each states who offers, who demands
and how it clears; none pairs every buyer with every seller."""
