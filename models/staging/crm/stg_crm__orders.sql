with

crm_orders as (

    select * from {{ source('crm', 'orders') }}

),

extracted as (

    select
        {{ json_text('record', '$.order_id') }} as order_id,
        {{ json_text('record', '$.contact_id') }} as contact_id,
        {{ json_text('record', '$.email') }} as email,
        {{ json_text('record', '$.ordered_at') }} as ordered_at,
        {{ json_text('record', '$.status') }} as order_status,
        {{ json_text('record', '$.currency') }} as currency,
        {{ json_text('record', '$.subtotal') }} as subtotal,
        {{ json_text('record', '$.discount') }} as discount,
        {{ json_text('record', '$.shipping') }} as shipping,
        {{ json_text('record', '$.tax') }} as tax,
        {{ json_text('record', '$.total') }} as total,
        {{ json_text('record', '$.discount_code') }} as discount_code,
        {{ json_text('record', '$.items_count') }} as items_count,
        {{ json_text('record', '$.updated_at') }} as updated_at,
        dt as landing_dt,
        file as landing_file,
        line as landing_line,
        loaded_at
    from crm_orders

),

renamed as (

    select
        {{ trim_to_null('order_id') }} as order_id,
        {{ trim_to_null('contact_id') }} as crm_contact_id,
        {{ normalize_email('email') }} as email,
        {{ to_utc_timestamp('ordered_at') }} as ordered_at,
        lower({{ trim_to_null('order_status') }}) as order_status,
        upper({{ trim_to_null('currency') }}) as currency,
        {{ dbt.safe_cast('subtotal', 'decimal(18, 2)') }} as subtotal,
        {{ dbt.safe_cast('discount', 'decimal(18, 2)') }} as discount,
        {{ dbt.safe_cast('shipping', 'decimal(18, 2)') }} as shipping,
        {{ dbt.safe_cast('tax', 'decimal(18, 2)') }} as tax,
        {{ dbt.safe_cast('total', 'decimal(18, 2)') }} as total,
        {{ trim_to_null('discount_code') }} as discount_code,
        {{ dbt.safe_cast('items_count', dbt.type_int()) }} as items_count,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        landing_dt,
        landing_file,
        landing_line,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at
    from extracted

),

ranked as (

    select
        *,
        row_number() over (
            partition by order_id
            order by
                updated_at desc nulls last,
                landing_dt desc,
                landing_file desc,
                landing_line desc
        ) as version_rank
    from renamed

),

final as (

    select
        order_id,
        crm_contact_id,
        email,
        ordered_at,
        order_status,
        currency,
        subtotal,
        discount,
        shipping,
        tax,
        total,
        discount_code,
        items_count,
        updated_at,
        landing_dt,
        landing_file,
        landing_line,
        loaded_at
    from ranked
    where version_rank = 1

)

select * from final
