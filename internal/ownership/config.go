package ownership

// Config is the ownership section of .github/tasuki.yml.
type Config struct{}

// DefaultConfig returns the ownership defaults.
func DefaultConfig() Config { return Config{} }
