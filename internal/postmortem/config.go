package postmortem

// Config is the postmortem section of .github/tasuki.yml.
type Config struct{}

// DefaultConfig returns the postmortem defaults.
func DefaultConfig() Config { return Config{} }
