package web_test

import (
	"regexp"
	"strings"
)

// cssRule is one rule of a stylesheet: the media query it sits in ("" at
// the top level), its selectors and its declarations (the last one of a
// property wins, as in the browser).
type cssRule struct {
	media     string
	selectors []string
	decls     map[string]string
}

var cssCommentRe = regexp.MustCompile(`(?s)/\*.*?\*/`)

// parseCSS reads the plain rules and @media blocks of the portal's own
// stylesheets; it is no general CSS parser.
func parseCSS(src string) []cssRule {
	return parseCSSBlock(cssCommentRe.ReplaceAllString(src, ""), "")
}

func parseCSSBlock(src, media string) []cssRule {
	var rules []cssRule
	for {
		open := strings.IndexByte(src, '{')
		if open < 0 {
			return rules
		}
		prelude := strings.TrimSpace(src[:open])
		depth, end := 0, -1
		for i := open; i < len(src) && end < 0; i++ {
			switch src[i] {
			case '{':
				depth++
			case '}':
				if depth--; depth == 0 {
					end = i
				}
			}
		}
		if end < 0 {
			return rules
		}
		body := src[open+1 : end]
		src = src[end+1:]
		if strings.HasPrefix(prelude, "@media") {
			rules = append(rules, parseCSSBlock(body, strings.TrimSpace(strings.TrimPrefix(prelude, "@media")))...)
			continue
		}
		r := cssRule{media: media, decls: map[string]string{}}
		for _, s := range strings.Split(prelude, ",") {
			r.selectors = append(r.selectors, strings.Join(strings.Fields(s), " "))
		}
		for _, d := range strings.Split(body, ";") {
			if k, v, ok := strings.Cut(d, ":"); ok {
				r.decls[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		rules = append(rules, r)
	}
}

// cssDecl is the value of property in the rules for selector in media
// ("" at the top level), the later rule winning; "" if none sets it.
func cssDecl(rules []cssRule, media, selector, property string) string {
	v := ""
	for _, r := range rules {
		if r.media != media {
			continue
		}
		for _, s := range r.selectors {
			if s == selector {
				if d, ok := r.decls[property]; ok {
					v = d
				}
			}
		}
	}
	return v
}
