"""The `ideaforge` command. Modules here import heavy things inside commands only, so that
`ideaforge --help` stays fast."""
