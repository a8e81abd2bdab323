-- BigQuery staging as the load created it before versioned migrations: one table per
-- lake table of include/sources/<name>/lake.py, partitioned by the lake day and clustered
-- on the table's key. The staging dataset is the script's default dataset, so names are
-- unqualified. BigQuery runs no DDL on permanent tables inside a transaction: every
-- statement must be safe to run again ("if not exists"), as a file that failed halfway
-- runs again whole. (noqa RF04: alias, key and value are the lake's column names.)
-- states_page
create table if not exists state (
    state_code string,
    state_name string,
    is_state bool,
    updated_at timestamp,
    _lake_day date,
    _loaded_at timestamp
)
partition by _lake_day
cluster by state_code;

-- census
create table if not exists census_state (
    state_fips string,
    state_name string,
    updated_at timestamp,
    _lake_day date,
    _loaded_at timestamp
)
partition by _lake_day
cluster by state_fips;
create table if not exists county (
    county_fips string,
    state_fips string,
    county_name string,
    updated_at timestamp,
    _lake_day date,
    _loaded_at timestamp
)
partition by _lake_day
cluster by county_fips;
create table if not exists county_population (
    county_fips string,
    population_year int64,
    population int64,
    updated_at timestamp,
    _lake_day date,
    _loaded_at timestamp
)
partition by _lake_day
cluster by county_fips, population_year;

-- yelp
create table if not exists city (
    state_code string,
    city_name string,
    county_fips string,
    updated_at timestamp,
    _lake_day date,
    _loaded_at timestamp
)
partition by _lake_day
cluster by state_code, city_name;
create table if not exists business (
    business_id string,
    alias string,  -- noqa: RF04
    business_name string,
    address1 string,
    address2 string,
    address3 string,
    zip_code string,
    phone string,
    url string,
    price_level int64,
    latitude float64,
    longitude float64,
    state_code string,
    city_name string,
    county_fips string,
    changed_on date,
    updated_at timestamp,
    _lake_day date,
    _loaded_at timestamp
)
partition by _lake_day
cluster by business_id;
create table if not exists category (
    category_alias string,
    title string,
    updated_at timestamp,
    _lake_day date,
    _loaded_at timestamp
)
partition by _lake_day
cluster by category_alias;
create table if not exists business_category (
    business_id string,
    category_alias string,
    is_current bool,
    updated_at timestamp,
    _lake_day date,
    _loaded_at timestamp
)
partition by _lake_day
cluster by business_id, category_alias;
create table if not exists transaction_type (
    transaction_type string,
    updated_at timestamp,
    _lake_day date,
    _loaded_at timestamp
)
partition by _lake_day
cluster by transaction_type;
create table if not exists business_transaction (
    business_id string,
    transaction_type string,
    is_current bool,
    updated_at timestamp,
    _lake_day date,
    _loaded_at timestamp
)
partition by _lake_day
cluster by business_id, transaction_type;
create table if not exists yelp_user (
    user_id string,
    user_name string,
    profile_url string,
    image_url string,
    updated_at timestamp,
    _lake_day date,
    _loaded_at timestamp
)
partition by _lake_day
cluster by user_id;
create table if not exists review (
    review_id string,
    business_id string,
    user_id string,
    rating int64,
    text_excerpt string,
    created_at timestamp,
    updated_at timestamp,
    _lake_day date,
    _loaded_at timestamp
)
partition by _lake_day
cluster by review_id;
create table if not exists business_holding (
    business_id string,
    holding_date date,
    rating float64,
    review_count int64,
    is_closed bool,
    updated_at timestamp,
    _lake_day date,
    _loaded_at timestamp
)
partition by _lake_day
cluster by business_id, holding_date;

-- amplitude
create table if not exists amplitude_event (
    export_day date,
    event_key string,
    insert_id string,
    uuid string,
    event_id int64,
    amplitude_id int64,
    user_id string,
    device_id string,
    session_id int64,
    event_time timestamp,
    client_event_time timestamp,
    server_upload_time timestamp,
    event_type string,
    platform string,
    os_name string,
    country string,
    city string,
    paying bool,
    archive_key string,
    member string,
    line_number int64,
    _lake_day date,
    _loaded_at timestamp
)
partition by _lake_day
cluster by export_day, event_key;
create table if not exists amplitude_event_property (
    export_day date,
    event_key string,
    property_type string,
    key string,  -- noqa: RF04
    value string,  -- noqa: RF04
    _lake_day date,
    _loaded_at timestamp
)
partition by _lake_day
cluster by export_day, event_key, property_type, key;
