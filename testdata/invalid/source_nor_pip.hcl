plugin "a" { # ERROR: Missing source or pip
  exclude = ["*.md"]
}
