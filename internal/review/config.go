package review

// Config is the review section of .github/tasuki.yml.
type Config struct{}

// DefaultConfig returns the review defaults.
func DefaultConfig() Config { return Config{} }
