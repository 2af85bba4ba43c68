package whatsapp

// PricingCategories returns the pricing categories a rate card row may
// name (those Meta reports on status webhooks), for forms.
func PricingCategories() []string { return append([]string(nil), pricingCategories...) }
