package storeserver

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	valid := func(mut func(*Config)) Config {
		c := DefaultConfig()
		c.AdminToken = "dev"
		if mut != nil {
			mut(&c)
		}
		return c
	}
	cases := map[string]struct {
		cfg      Config
		wantErrs []error
	}{
		"defaults with an admin token":  {cfg: valid(nil)},
		"tokens file instead of env":    {cfg: valid(func(c *Config) { c.AdminToken, c.TokensFile = "", "/etc/tokens" })},
		"postgres":                      {cfg: valid(func(c *Config) { c.DB = "postgres://studio@db/studio" })},
		"postgresql":                    {cfg: valid(func(c *Config) { c.DB = "postgresql://studio@db/studio" })},
		"absolute sqlite":               {cfg: valid(func(c *Config) { c.DB = "sqlite:///var/lib/studio/studio.db" })},
		"smtp without mail dir":         {cfg: valid(func(c *Config) { c.SMTPURL, c.MailDir = "smtp://u:p@mail:587", "" })},
		"smtps":                         {cfg: valid(func(c *Config) { c.SMTPURL = "smtps://mail" })},
		"public url":                    {cfg: valid(func(c *Config) { c.PublicURL = "https://studio.example.com/store" })},
		"json logs":                     {cfg: valid(func(c *Config) { c.LogFormat, c.LogLevel = "json", "debug" })},
		"no token":                      {cfg: valid(func(c *Config) { c.AdminToken = "" }), wantErrs: []error{errNoTokens}},
		"mysql":                         {cfg: valid(func(c *Config) { c.DB = "mysql://db/studio" }), wantErrs: []error{errDB}},
		"plain path":                    {cfg: valid(func(c *Config) { c.DB = "/var/lib/studio.db" }), wantErrs: []error{errDB}},
		"sqlite without a path":         {cfg: valid(func(c *Config) { c.DB = "sqlite:///" }), wantErrs: []error{errDB}},
		"listen without port":           {cfg: valid(func(c *Config) { c.Listen = "127.0.0.1" }), wantErrs: []error{errListen}},
		"public url with query":         {cfg: valid(func(c *Config) { c.PublicURL = "https://studio.example.com/?a=1" }), wantErrs: []error{errPublicURL}},
		"public url without scheme":     {cfg: valid(func(c *Config) { c.PublicURL = "studio.example.com" }), wantErrs: []error{errPublicURL}},
		"http smtp url":                 {cfg: valid(func(c *Config) { c.SMTPURL = "http://mail" }), wantErrs: []error{errSMTPURL}},
		"bad mail from":                 {cfg: valid(func(c *Config) { c.MailFrom = "studio" }), wantErrs: []error{errMailFrom}},
		"no smtp and no mail dir":       {cfg: valid(func(c *Config) { c.MailDir = "" }), wantErrs: []error{errMailDir}},
		"zero ttl":                      {cfg: valid(func(c *Config) { c.InvitationTTL = 0 }), wantErrs: []error{errTTL}},
		"negative poll":                 {cfg: valid(func(c *Config) { c.MailPollInterval = -time.Second }), wantErrs: []error{errPollInterval}},
		"short lease and timeout":       {cfg: valid(func(c *Config) { c.MailLease, c.MailSendTimeout = 15*time.Second, 4*time.Second })},
		"lease within the send timeout": {cfg: valid(func(c *Config) { c.MailLease = c.MailSendTimeout + 5*time.Second }), wantErrs: []error{errMailLease}},
		"zero send timeout":             {cfg: valid(func(c *Config) { c.MailSendTimeout = 0 }), wantErrs: []error{errSendTimeout}},
		"zero shutdown":                 {cfg: valid(func(c *Config) { c.ShutdownTimeout = 0 }), wantErrs: []error{errShutdown}},
		"xml logs":                      {cfg: valid(func(c *Config) { c.LogFormat = "xml" }), wantErrs: []error{errLogFormat}},
		"loud logs":                     {cfg: valid(func(c *Config) { c.LogLevel = "loud" }), wantErrs: []error{errLogLevel}},
		"every problem is reported": {
			cfg:      valid(func(c *Config) { c.DB, c.AdminToken, c.LogLevel = "x", "", "x" }),
			wantErrs: []error{errDB, errNoTokens, errLogLevel},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.wantErrs) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			for _, want := range tc.wantErrs {
				if !errors.Is(err, want) {
					t.Errorf("Validate = %v, want it to include %q", err, want)
				}
			}
		})
	}
}

func TestValidateNeverEchoesSecrets(t *testing.T) {
	c := DefaultConfig()
	c.SMTPURL = "ftp://user:hunter2@mail"
	c.DB = "mysql://root:hunter3@db/studio"
	err := c.Validate()
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "hunter3") {
		t.Fatalf("Validate = %v; want an error without the passwords", err)
	}
}

func TestNewLogger(t *testing.T) {
	var b strings.Builder
	log, err := NewLogger(&b, "json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown")
	if strings.Contains(b.String(), "hidden") || !strings.Contains(b.String(), `"msg":"shown"`) {
		t.Errorf("log = %s", b.String())
	}
}
