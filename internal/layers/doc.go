// Package layers holds the test of the module's layering: data flows from
// cmd/ to facade/ to internal/ to gen/, never back up. It has no code.
package layers
