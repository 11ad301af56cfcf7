package demodata

// The static tables the generator draws from: places, names, products, coupons, campaigns.
// They are small on purpose: realism comes from how customers use them, not from their size.

type city struct {
	name     string
	lat, lon float64
	weight   float64 // relative population share inside the country
}

type country struct {
	code    string
	weight  float64 // share of customers
	locale  string
	utcHour int // offset used to place sessions at plausible local hours
	cities  []city
	first   []string
	last    []string
}

var countries = []country{
	{code: "VN", weight: 30, locale: "vi-VN", utcHour: 7, cities: []city{
		{"Ho Chi Minh City", 10.7769, 106.7009, 5}, {"Hanoi", 21.0278, 105.8342, 4}, {"Da Nang", 16.0544, 108.2022, 1.5}, {"Can Tho", 10.0452, 105.7469, 1}},
		first: []string{"Nguyen", "Ngoc", "Minh", "Anh", "Linh", "Huong", "Tuan", "Thao", "Duc", "Lan", "Quang", "Mai", "Hoang", "Trang", "Khanh", "Phuong"},
		last:  []string{"Nguyen", "Tran", "Le", "Pham", "Hoang", "Phan", "Vu", "Vo", "Dang", "Bui", "Do", "Ngo"}},
	{code: "TH", weight: 14, locale: "th-TH", utcHour: 7, cities: []city{
		{"Bangkok", 13.7563, 100.5018, 6}, {"Chiang Mai", 18.7883, 98.9853, 1.5}, {"Phuket", 7.8804, 98.3923, 1}},
		first: []string{"Somchai", "Nattaya", "Kittipong", "Ploy", "Arthit", "Siriporn", "Chaiya", "Malee", "Niran", "Pim"},
		last:  []string{"Saetang", "Wongsakul", "Chaiyaporn", "Srisuk", "Boonmee", "Thongchai", "Rattanakorn"}},
	{code: "SG", weight: 8, locale: "en-SG", utcHour: 8, cities: []city{
		{"Singapore", 1.3521, 103.8198, 1}},
		first: []string{"Wei Ling", "Jun Jie", "Hui Min", "Darren", "Siti", "Ravi", "Mei", "Marcus", "Priya", "Ethan"},
		last:  []string{"Tan", "Lim", "Lee", "Ng", "Ong", "Wong", "Goh", "Chua", "Koh", "Kumar"}},
	{code: "ID", weight: 14, locale: "id-ID", utcHour: 7, cities: []city{
		{"Jakarta", -6.2088, 106.8456, 5}, {"Surabaya", -7.2575, 112.7521, 2}, {"Bandung", -6.9175, 107.6191, 1.5}, {"Denpasar", -8.6705, 115.2126, 1}},
		first: []string{"Budi", "Siti", "Agus", "Dewi", "Rizky", "Putri", "Andi", "Ayu", "Eko", "Indah"},
		last:  []string{"Santoso", "Wijaya", "Saputra", "Lestari", "Hidayat", "Pratama", "Kurniawan", "Susanto"}},
	{code: "MY", weight: 9, locale: "ms-MY", utcHour: 8, cities: []city{
		{"Kuala Lumpur", 3.139, 101.6869, 4}, {"Penang", 5.4164, 100.3327, 1.5}, {"Johor Bahru", 1.4927, 103.7414, 1.5}},
		first: []string{"Ahmad", "Nur", "Aisyah", "Hafiz", "Farah", "Wei Jie", "Kavitha", "Amir", "Mei Ling", "Zul"},
		last:  []string{"Abdullah", "Ibrahim", "Ismail", "Tan", "Lim", "Rahman", "Yusof", "Raj"}},
	{code: "PH", weight: 11, locale: "en-PH", utcHour: 8, cities: []city{
		{"Manila", 14.5995, 120.9842, 4}, {"Cebu", 10.3157, 123.8854, 1.5}, {"Davao", 7.1907, 125.4553, 1}},
		first: []string{"Maria", "Jose", "Juan", "Ana", "Mark", "Kristine", "John Paul", "Angelica", "Carlo", "Joy"},
		last:  []string{"Santos", "Reyes", "Cruz", "Bautista", "Garcia", "Mendoza", "Torres", "Flores", "Villanueva"}},
	{code: "US", weight: 8, locale: "en-US", utcHour: -5, cities: []city{
		{"New York", 40.7128, -74.006, 3}, {"San Francisco", 37.7749, -122.4194, 2}, {"Chicago", 41.8781, -87.6298, 1.5}, {"Austin", 30.2672, -97.7431, 1}},
		first: []string{"James", "Emily", "Michael", "Olivia", "David", "Sophia", "Daniel", "Emma", "Chris", "Ava"},
		last:  []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson"}},
	{code: "AU", weight: 3, locale: "en-AU", utcHour: 10, cities: []city{
		{"Sydney", -33.8688, 151.2093, 2}, {"Melbourne", -37.8136, 144.9631, 2}},
		first: []string{"Jack", "Charlotte", "Oliver", "Mia", "William", "Chloe", "Noah", "Ruby"},
		last:  []string{"Taylor", "Anderson", "Thompson", "Martin", "White", "Kelly", "Walker"}},
	{code: "JP", weight: 2, locale: "ja-JP", utcHour: 9, cities: []city{
		{"Tokyo", 35.6762, 139.6503, 3}, {"Osaka", 34.6937, 135.5023, 1.5}},
		first: []string{"Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi", "Yuto", "Sakura"},
		last:  []string{"Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto"}},
	{code: "GB", weight: 1, locale: "en-GB", utcHour: 0, cities: []city{
		{"London", 51.5074, -0.1278, 3}, {"Manchester", 53.4808, -2.2426, 1}},
		first: []string{"Harry", "Amelia", "George", "Isla", "Oscar", "Ava", "Arthur", "Lily"},
		last:  []string{"Smith", "Jones", "Taylor", "Evans", "Davies", "Hughes", "Roberts"}},
}

// Category names of the catalog; every product belongs to one.
var categories = []string{"electronics", "fashion", "beauty", "home", "sports", "books", "toys", "grocery"}

// Median price per category in USD; product prices spread log-normally around it.
var categoryPrice = []float64{180, 35, 22, 45, 40, 14, 25, 8}

var productNouns = [][]string{
	{"headphones", "phone-case", "smartwatch", "charger", "speaker", "tablet", "keyboard", "camera"},
	{"t-shirt", "sneakers", "jeans", "dress", "jacket", "cap", "scarf", "backpack"},
	{"lipstick", "serum", "sunscreen", "shampoo", "perfume", "face-mask", "lotion", "cleanser"},
	{"lamp", "pillow", "mug", "blanket", "vase", "towel", "candle", "rug"},
	{"yoga-mat", "dumbbell", "running-shoes", "water-bottle", "racket", "bike-light", "jersey", "ball"},
	{"novel", "cookbook", "comic", "biography", "atlas", "poetry", "guide", "journal"},
	{"puzzle", "lego-set", "doll", "rc-car", "board-game", "plush", "kite", "blocks"},
	{"coffee", "tea", "rice", "noodles", "snacks", "olive-oil", "honey", "chocolate"},
}

type product struct {
	id       string
	slug     string
	path     string // /products/slug
	url      string
	category int
	price    float64
}

// Coupons and their discount rates. The sale coupon is used during the November sale.
var coupons = []struct {
	code string
	pct  float64
}{{"SAVE10", 0.10}, {"WELCOME15", 0.15}, {"FREESHIP", 0.05}, {"VIP20", 0.20}, {"FLASH30", 0.30}}

const saleCoupon, salePct = "BLACKFRIDAY25", 0.25

// Ad campaigns a session can arrive from (utm source, medium, name) and the referrer that goes with it.
var adCampaigns = []struct{ source, medium, name, referrer string }{
	{"google", "cpc", "brand-search", "https://www.google.com/"},
	{"facebook", "social", "summer-collection", "https://www.facebook.com/"},
	{"instagram", "social", "new-arrivals", "https://www.instagram.com/"},
	{"tiktok", "video", "creator-picks", "https://www.tiktok.com/"},
	{"shopee", "affiliate", "marketplace", "https://shopee.vn/"},
}

var organicReferrers = []string{"", "", "", "https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/"}

var desktopAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
}

var mobileAgents = []string{
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0 Mobile/15E148 Safari/604.1",
}

var appAgents = []string{"SegdShop/4.2.1 (iPhone; iOS 17.5)", "SegdShop/4.2.0 (Android 14; SM-S918B)", "SegdShop/4.1.7 (Android 13; Pixel 7)"}

var emailSubjects = []string{"New arrivals this week", "Picked for you", "Your weekly deals", "Back in stock", "Members save more"}

var ticketTopics = []string{"delivery", "refund", "payment", "account", "product"}
var ticketChannels = []string{"email", "chat", "phone"}
var accountTypes = []string{"credit_card", "savings", "checking"}

const siteURL = "https://shop.example.com"
