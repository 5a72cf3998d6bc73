ado { version = "2.3.0" }
ado { version = "2.2.0" } # ERROR: Duplicate ado block
