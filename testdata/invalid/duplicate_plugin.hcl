plugin "a" { pip = "ado-ray-tune==2.2.1" }
plugin "a" { pip = "ado-trim==2.2.5" } # ERROR: Duplicate plugin block
