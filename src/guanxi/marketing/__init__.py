"""Marketing (营销活动管理): saved segments now; campaigns, automation and loyalty to come."""
